package main

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"

	"github.com/bayling-go/bayling/internal/tokenizer"
	"github.com/spf13/cobra"
)

func init() {
	addCommand(newTokenizeCmd())
	addCommand(newDetokenizeCmd())
}

func newTokenizeCmd() *cobra.Command {
	var model string
	var bos, special, asJSON bool
	tok := &cobra.Command{
		Use:   "tokenize -m PATH [--bos] [--special] [--json]",
		Short: "Print the token ids of each stdin line",
		Long: `Reads stdin; each line is one text and each output line its ids, space-separated.
With --json each input line is a JSON string and each output line a JSON array of ids.
-m takes a SentencePiece or tiktoken tokenizer.model, a tokenizer.json, a GGUF file,
a llama2.c tokenizer.bin or a model directory. No BOS unless --bos; special-token text
is plain text unless --special.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			t, err := tokenizer.Load(model)
			if err != nil {
				return err
			}
			opt := tokenizer.EncodeOptions{AddBOS: bos, ParseSpecial: special}
			return eachLine(cmd.InOrStdin(), cmd.OutOrStdout(), func(n int, line string, w *bufio.Writer) error {
				text := line
				if asJSON {
					if err := json.Unmarshal([]byte(line), &text); err != nil {
						return fmt.Errorf("stdin line %d: want a JSON string: %w", n, err)
					}
				}
				ids := t.Encode(text, opt)
				if asJSON {
					if ids == nil {
						ids = []int{}
					}
					b, _ := json.Marshal(ids)
					w.Write(b)
				} else {
					for i, id := range ids {
						if i > 0 {
							w.WriteByte(' ')
						}
						w.WriteString(strconv.Itoa(id))
					}
				}
				return w.WriteByte('\n')
			})
		},
	}
	tok.Flags().StringVarP(&model, "model", "m", "", "tokenizer file or model directory/GGUF")
	tok.Flags().BoolVar(&bos, "bos", false, "prepend the model's BOS token")
	tok.Flags().BoolVar(&special, "special", false, "recognise special-token text such as <|eot_id|>")
	tok.Flags().BoolVar(&asJSON, "json", false, "input lines are JSON strings, output lines JSON arrays")
	tok.MarkFlagRequired("model")
	return tok
}

func newDetokenizeCmd() *cobra.Command {
	var dmodel string
	var djson bool
	detok := &cobra.Command{
		Use:   "detokenize -m PATH [--json]",
		Short: "Print the text of each stdin line of token ids",
		Long: `Reads stdin; each line holds space-separated ids (with --json a JSON array) and each
output line is their decoded text (with --json a JSON string, which keeps newlines exact).`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			t, err := tokenizer.Load(dmodel)
			if err != nil {
				return err
			}
			return eachLine(cmd.InOrStdin(), cmd.OutOrStdout(), func(n int, line string, w *bufio.Writer) error {
				var ids []int
				if djson {
					if err := json.Unmarshal([]byte(line), &ids); err != nil {
						return fmt.Errorf("stdin line %d: want a JSON array of ids: %w", n, err)
					}
				} else {
					for _, f := range strings.Fields(line) {
						id, err := strconv.Atoi(f)
						if err != nil {
							return fmt.Errorf("stdin line %d: %q is not a token id", n, f)
						}
						ids = append(ids, id)
					}
				}
				if err := tokenizer.CheckIDs(t, ids); err != nil {
					return fmt.Errorf("stdin line %d: %w", n, err)
				}
				text := t.Decode(ids)
				if djson {
					enc := json.NewEncoder(w) // writes the trailing newline
					enc.SetEscapeHTML(false)
					return enc.Encode(text)
				} else {
					w.WriteString(text)
				}
				return w.WriteByte('\n')
			})
		},
	}
	detok.Flags().StringVarP(&dmodel, "model", "m", "", "tokenizer file or model directory/GGUF")
	detok.Flags().BoolVar(&djson, "json", false, "input lines are JSON arrays, output lines JSON strings")
	detok.MarkFlagRequired("model")
	return detok
}

// eachLine calls fn for every line of r (without its "\n"), numbered from 1,
// and flushes the output at the end.
func eachLine(r io.Reader, out io.Writer, fn func(n int, line string, w *bufio.Writer) error) error {
	br := bufio.NewReaderSize(r, 1<<16)
	w := bufio.NewWriterSize(out, 1<<16)
	for n := 1; ; n++ {
		line, err := br.ReadString('\n')
		if len(line) > 0 {
			if ferr := fn(n, strings.TrimSuffix(line, "\n"), w); ferr != nil {
				w.Flush()
				return ferr
			}
		}
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return fmt.Errorf("stdin: %w", err)
		}
	}
	return w.Flush()
}
