// Command foresight-nodeagent is the Foresight node agent (DaemonSet): it
// measures every container on its node from cgroups and eBPF and publishes
// the node's NodeProfile. It is not built yet: see the node agent issue.
package main

import (
	"fmt"
	"os"
)

func main() {
	fmt.Fprintln(os.Stderr, "foresight-nodeagent: not built yet (the node agent lands with its own issue); nothing was measured")
	os.Exit(1)
}
