// Command foresight-controller resizes partitions, migrates pods, scales
// ahead of known events and serves the rightsizing admission webhook. It is
// not built yet: see the controller and scheduler plugin issues.
package main

import (
	"fmt"
	"os"
)

func main() {
	fmt.Fprintln(os.Stderr, "foresight-controller: not built yet (the controller lands with its own issue); nothing was reconciled")
	os.Exit(1)
}
