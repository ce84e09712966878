package main

import (
	"fmt"
	"io"

	"github.com/spf13/cobra"

	"github.com/bayling-go/bayling/internal/checkpoint"
	"github.com/bayling-go/bayling/internal/tensor"
)

func init() { addCommand(newConvertCmd()) }

func newConvertCmd() *cobra.Command {
	var typ, name string
	c := &cobra.Command{
		Use:   "convert HF_DIR OUT.gguf",
		Short: "Convert a Hugging Face Llama directory (safetensors) to GGUF, optionally quantizing",
		Long: `Convert a Hugging Face Llama checkpoint directory (config.json,
model.safetensors or model.safetensors.index.json shards, F32/F16/BF16, and
tokenizer.model or tokenizer.json) to a GGUF file that llama.cpp loads, laid
out as llama.cpp's convert_hf_to_gguf.py writes it. --type quantizes on the
way with llama-quantize's per-tensor choices. Tensors are converted one at a
time, so memory stays at about one tensor.`,
		Args: cobra.ExactArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			ft, err := checkpoint.ParseFileType(typ)
			if err != nil {
				return fmt.Errorf("convert: --type: %w", err)
			}
			plan, err := checkpoint.ConvertHF(args[1], args[0], checkpoint.ConvertOptions{Type: ft, Name: name})
			if err != nil {
				return err
			}
			summarizePlan(cmd.ErrOrStderr(), args[1], ft, plan)
			return nil
		},
	}
	c.Flags().StringVar(&typ, "type", "f16", "weight type: f32, f16, bf16, q8_0, q4_0, q4_k, q4_k_m, q6_k")
	c.Flags().StringVar(&name, "name", "", "general.name (default: the directory name)")
	return c
}

// summarizePlan prints how many tensors got each type.
func summarizePlan(w io.Writer, path string, ft checkpoint.FileType, plan checkpoint.QuantPlan) {
	count := map[tensor.DType]int{}
	var order []tensor.DType
	for _, t := range plan.Types {
		if count[t] == 0 {
			order = append(order, t)
		}
		count[t]++
	}
	fmt.Fprintf(w, "wrote %s (%s):", path, ft.Name)
	for _, t := range order {
		fmt.Fprintf(w, " %d %s", count[t], t)
	}
	fmt.Fprintln(w)
}
