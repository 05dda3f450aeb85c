// Command kubectl-foresight is the kubectl plugin of Foresight: it explains
// scheduling decisions, back-tests forecasts and replays traces.
package main

import (
	"fmt"
	"os"

	"github.com/foresight-dev/foresight/cmd/kubectl-foresight/app"
)

func main() {
	if err := app.NewCommand().Execute(); err != nil {
		fmt.Fprintln(os.Stderr, "Error:", err)
		os.Exit(1)
	}
}
