// Command bayling runs, tunes, evaluates and serves BayLing-style multilingual
// Llama models. Each subcommand lives in its own file and registers itself on
// the root command in an init function, so commands stay thin and independent.
package main

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"syscall"

	"github.com/spf13/cobra"
)

var rootCmd = &cobra.Command{
	Use:           "bayling",
	Short:         "BayLing 2 in one binary: run, tokenize, build alignment data, tune and evaluate Llama models",
	SilenceUsage:  true,
	SilenceErrors: true,
}

// addCommand is called from each command file's init.
func addCommand(c *cobra.Command) { rootCmd.AddCommand(c) }

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := rootCmd.ExecuteContext(ctx); err != nil {
		fmt.Fprintln(os.Stderr, "bayling:", err)
		os.Exit(1)
	}
}
