package main

import (
	"fmt"
	"runtime"
	"runtime/debug"

	"github.com/spf13/cobra"
)

func init() {
	addCommand(&cobra.Command{
		Use:   "version",
		Short: "Print the version, Go toolchain and the kernel set in use",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			rev := "devel"
			if bi, ok := debug.ReadBuildInfo(); ok {
				for _, s := range bi.Settings {
					if s.Key == "vcs.revision" && len(s.Value) >= 12 {
						rev = s.Value[:12]
					}
				}
			}
			fmt.Fprintf(cmd.OutOrStdout(), "bayling %s (%s %s/%s)\n", rev, runtime.Version(), runtime.GOOS, runtime.GOARCH)
			fmt.Fprintf(cmd.OutOrStdout(), "kernels: %s\n", kernelSet())
			return nil
		},
	})
}
