package main

import (
	"fmt"

	"github.com/spf13/cobra"

	"github.com/bayling-go/bayling/internal/checkpoint"
	"github.com/bayling-go/bayling/internal/gguf"
	"github.com/bayling-go/bayling/internal/train"
)

func init() {
	c := &cobra.Command{Use: "lora", Short: "Work with LoRA adapters (PEFT format)"}
	c.AddCommand(newLoRAMergeCmd())
	addCommand(c)
}

func newLoRAMergeCmd() *cobra.Command {
	var base, adapter, out, name string
	c := &cobra.Command{
		Use:   "merge -m BASE.gguf -a ADAPTER_DIR -o MERGED.gguf",
		Short: "Merge a PEFT LoRA adapter into its base model and write an F32 GGUF",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if base == "" || adapter == "" || out == "" {
				return fmt.Errorf("lora merge: -m, -a and -o are required")
			}
			m, err := checkpoint.Load(base, checkpoint.Options{})
			if err != nil {
				return err
			}
			defer m.Close()
			if m.Format != checkpoint.FormatGGUF {
				return fmt.Errorf("lora merge: %s: base must be a GGUF (its tokenizer metadata is copied)", base)
			}
			p, err := train.FromWeights(m.Config, m.Weights)
			if err != nil {
				return err
			}
			lo, _, err := train.LoadPEFT(adapter, p)
			if err != nil {
				return err
			}
			lo.Merge()
			f, err := gguf.Open(base)
			if err != nil {
				return err
			}
			kvs := train.TokenizerKVs(f)
			if name == "" {
				name, _ = f.String("general.name")
			}
			f.Close()
			if err := train.ExportGGUF(out, name, p, kvs); err != nil {
				return err
			}
			fmt.Fprintf(cmd.ErrOrStderr(), "lora merge: %d adapters merged into %s\n", len(lo.Adapters), out)
			return nil
		},
	}
	c.Flags().StringVarP(&base, "model", "m", "", "base model (GGUF)")
	c.Flags().StringVarP(&adapter, "adapter", "a", "", "PEFT adapter folder (adapter_config.json + adapter_model.safetensors)")
	c.Flags().StringVarP(&out, "out", "o", "", "merged GGUF to write")
	c.Flags().StringVar(&name, "name", "", "general.name of the merged model (default: the base's)")
	return c
}
