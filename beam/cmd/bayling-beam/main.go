// Command bayling-beam runs a bayling data recipe as an Apache Beam
// pipeline on any Beam runner: direct (the default, in process), Dataflow,
// or Flink and Spark through their job servers (--runner=universal
// --endpoint=HOST:PORT, or --runner=flink / --runner=spark). See docs/scale.md.
package main

import (
	"context"
	"flag"
	"fmt"
	"os"

	"github.com/apache/beam/sdks/v2/go/pkg/beam"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/x/beamx"

	bbeam "github.com/bayling-go/bayling/beam"
	"github.com/bayling-go/bayling/internal/data"
)

var (
	recipe = flag.String("recipe", "", "RECIPE.yaml of the data build (its inputs must be readable by every worker)")
	output = flag.String("output", "", "output folder: a local path or a Beam filesystem URL such as gs://bucket/dir")
)

func main() {
	flag.Parse()
	beam.Init()
	if err := run(context.Background()); err != nil {
		fmt.Fprintln(os.Stderr, "bayling-beam:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context) error {
	if *recipe == "" || *output == "" {
		return fmt.Errorf("--recipe and --output are required")
	}
	r, err := data.LoadRecipe(*recipe)
	if err != nil {
		return err
	}
	p, s := beam.NewPipelineWithRoot()
	if err := bbeam.Build(s, r, *output); err != nil {
		return err
	}
	return beamx.Run(ctx, p)
}
