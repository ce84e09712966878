package main

import (
	"fmt"

	"github.com/schollz/progressbar/v3"
	"github.com/spf13/cobra"

	"github.com/bayling-go/bayling/internal/hub"
)

func init() {
	var include []string
	cmd := &cobra.Command{
		Use:   "pull ORG/NAME[@REV]",
		Short: "Download a Hugging Face model repository into the shared Hugging Face cache",
		Long: `Downloads config, tokenizer and weight files (safetensors, or GGUF when the
repository has no safetensors) into the Hugging Face cache layout
($HF_HUB_CACHE, else $HF_HOME/hub, else ~/.cache/huggingface/hub), resuming
interrupted downloads and verifying each file against the hub's checksum.
HF_ENDPOINT and HF_TOKEN are honoured. Afterwards -m ORG/NAME works in every
command, without network access.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			ref, err := hub.ParseRef(args[0])
			if err != nil {
				return err
			}
			c := hub.FromEnv()
			bars := map[string]*progressbar.ProgressBar{}
			c.Progress = func(file string, done, total int64) {
				b, ok := bars[file]
				if !ok {
					b = newProgress(file, total)
					bars[file] = b
				}
				b.Set64(done)
			}
			var patterns []string
			if len(include) > 0 {
				patterns = include
			}
			snap, err := c.Pull(cmd.Context(), ref, patterns)
			for _, b := range bars {
				b.Finish()
			}
			if err != nil {
				return err
			}
			fmt.Fprintln(cmd.OutOrStdout(), snap)
			return nil
		},
	}
	cmd.Flags().StringSliceVar(&include, "include", nil, "file name patterns to download (default: *.json, tokenizer.model, *.safetensors, or *.gguf)")
	addCommand(cmd)
}
