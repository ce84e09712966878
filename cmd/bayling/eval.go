package main

import "github.com/spf13/cobra"

// evalCmd groups the evaluation commands (metrics, translation runs,
// benchmarks); each lives in its own eval_*.go file and adds itself here.
var evalCmd = &cobra.Command{
	Use:   "eval",
	Short: "Evaluate translations and models: sacreBLEU-exact metrics and benchmark runs",
}

func init() { addCommand(evalCmd) }
