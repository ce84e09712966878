package main

import (
	"fmt"

	"github.com/spf13/cobra"

	"github.com/bayling-go/bayling/internal/checkpoint"
)

func init() { addCommand(newQuantizeCmd()) }

func newQuantizeCmd() *cobra.Command {
	var typ string
	var verbose bool
	c := &cobra.Command{
		Use:   "quantize IN.gguf OUT.gguf --type TYPE",
		Short: "Quantize a GGUF model (q8_0, q4_0, q4_k, q4_k_m, q6_k) like llama-quantize",
		Long: `Quantize a llama GGUF file. Each tensor's type follows llama.cpp's
llama-quantize for the same type name (q4_k_m: Q6_K for output.weight and for
attn_v / ffn_down in the layers use_more_bits picks, Q4_K elsewhere; 1-D
tensors stay F32); q4_k is every matrix Q4_K (llama-quantize --pure Q4_K_S).
The metadata is copied with general.file_type and
general.quantization_version set. Already-quantized inputs are dequantized
first.`,
		Args: cobra.ExactArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			ft, err := checkpoint.ParseFileType(typ)
			if err != nil {
				return fmt.Errorf("quantize: --type: %w", err)
			}
			plan, err := checkpoint.QuantizeGGUF(args[1], args[0], ft)
			if err != nil {
				return err
			}
			if verbose {
				for i, n := range plan.Names {
					fmt.Fprintf(cmd.OutOrStdout(), "%s\t%s\n", n, plan.Types[i])
				}
			}
			summarizePlan(cmd.ErrOrStderr(), args[1], ft, plan)
			return nil
		},
	}
	c.Flags().StringVar(&typ, "type", "", "target type: q8_0, q4_0, q4_k, q4_k_m, q6_k, f16, bf16, f32 (required)")
	c.Flags().BoolVarP(&verbose, "verbose", "v", false, "print each tensor's name and type")
	c.MarkFlagRequired("type")
	return c
}
