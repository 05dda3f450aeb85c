// Package app holds the commands of the kubectl-foresight plugin.
package app

import (
	"fmt"

	"github.com/spf13/cobra"

	"github.com/foresight-dev/foresight/pkg/version"
)

// NewCommand returns the root command of kubectl-foresight with every
// subcommand attached.
func NewCommand() *cobra.Command {
	root := &cobra.Command{
		Use:           "kubectl-foresight",
		Short:         "Explain Foresight's scheduling decisions, back-test forecasts, replay traces",
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	root.AddCommand(newVersionCommand())
	for _, c := range subcommands {
		root.AddCommand(c())
	}
	return root
}

// subcommands are the constructors of the plugin's subcommands; each file
// that defines one appends to it from an init function, so that commands can
// be added without editing this file.
var subcommands []func() *cobra.Command

func newVersionCommand() *cobra.Command {
	return &cobra.Command{
		Use:   "version",
		Short: "Print the version of kubectl-foresight",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			_, err := fmt.Fprintln(cmd.OutOrStdout(), version.String())
			return err
		},
	}
}
