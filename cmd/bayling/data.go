package main

import (
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"sort"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/bayling-go/bayling/internal/data"
	"github.com/bayling-go/bayling/internal/lid"
	"github.com/bayling-go/bayling/internal/plot"
)

func init() {
	dataCmd := &cobra.Command{Use: "data", Short: "Build and inspect language-alignment instruction data"}

	var recipePath, outDir string
	build := &cobra.Command{
		Use:   "build -c RECIPE.yaml -o OUTDIR",
		Short: "Build a cross-lingual instruction set from a recipe (resumes a killed build)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			r, err := data.LoadRecipe(recipePath)
			if err != nil {
				return err
			}
			opt := data.Options{Log: slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelInfo}))}
			if r.LID.Model != "" {
				m, err := lid.Load(r.LID.Model)
				if err != nil {
					return err
				}
				opt.LID = m
			}
			bar := newProgress("records", -1)
			opt.Progress = func(_ string, n int64) { bar.Set64(n) }
			m, err := data.Build(cmd.Context(), r, outDir, opt)
			bar.Finish()
			if err != nil {
				return err
			}
			return printStats(cmd, outDir, m)
		},
	}
	build.Flags().StringVarP(&recipePath, "config", "c", "", "recipe file (YAML)")
	build.Flags().StringVarP(&outDir, "output", "o", "", "output folder")
	build.MarkFlagRequired("config")
	build.MarkFlagRequired("output")

	stats := &cobra.Command{
		Use:   "stats OUTDIR",
		Short: "Print per-task and per-language tables of a built dataset and write OUTDIR/stats.png",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			var m data.Manifest
			if err := readJSONFile(filepath.Join(args[0], data.ManifestName), &m); err != nil {
				return err
			}
			return printStats(cmd, args[0], &m)
		},
	}
	dataCmd.AddCommand(build, stats)
	addCommand(dataCmd)
}

func printStats(cmd *cobra.Command, outDir string, m *data.Manifest) error {
	w := tabwriter.NewWriter(cmd.OutOrStdout(), 0, 4, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintf(w, "records in\t%d\t\n", m.Counts.In)
	for _, k := range sortedKeys(m.Counts.Dropped) {
		fmt.Fprintf(w, "dropped: %s\t%d\t\n", k, m.Counts.Dropped[k])
	}
	fmt.Fprintf(w, "records out\t%d\t\n\n", m.Counts.Out)
	fmt.Fprintln(w, "category\trecords\tshare\t")
	for _, k := range sortedKeys(m.ByCategory) {
		fmt.Fprintf(w, "%s\t%d\t%.1f%%\t\n", k, m.ByCategory[k], 100*float64(m.ByCategory[k])/float64(max(m.Counts.Out, 1)))
	}
	tasks := sortedKeys(m.ByTask)
	fmt.Fprint(w, "\nlanguage\t")
	for _, t := range tasks {
		fmt.Fprintf(w, "%s\t", t)
	}
	fmt.Fprintln(w, "total\t")
	langs := sortedKeys(m.ByLang)
	series := make([]plot.Series, len(tasks))
	for i, t := range tasks {
		series[i] = plot.Series{Name: t, Values: make([]float64, len(langs))}
	}
	for li, l := range langs {
		fmt.Fprintf(w, "%s\t", l)
		total := int64(0)
		for ti, t := range tasks {
			n := m.ByLang[l][t]
			total += n
			series[ti].Values[li] = float64(n)
			fmt.Fprintf(w, "%d\t", n)
		}
		fmt.Fprintf(w, "%d\t\n", total)
	}
	if err := w.Flush(); err != nil {
		return err
	}
	img, err := plot.Bars{Title: "Records by language and task", Labels: langs, Series: series}.Draw()
	if err != nil {
		return err
	}
	png := filepath.Join(outDir, "stats.png")
	if err := plot.Save(png, img); err != nil {
		return err
	}
	fmt.Fprintf(cmd.ErrOrStderr(), "chart: %s\n", png)
	return nil
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
