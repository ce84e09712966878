package main

import (
	"io"
	"os"

	"github.com/schollz/progressbar/v3"
)

// newProgress returns a progress bar on stderr; total -1 means unknown.
// When stderr is not a terminal (CI logs, pipes) the bar draws nothing, so
// logs hold results rather than thousands of redraws.
func newProgress(desc string, total int64) *progressbar.ProgressBar {
	var w io.Writer = os.Stderr
	if !isTerminal(os.Stderr) {
		w = io.Discard
	}
	return progressbar.NewOptions64(total,
		progressbar.OptionSetDescription(desc),
		progressbar.OptionSetWriter(w),
		progressbar.OptionShowCount(),
		progressbar.OptionShowIts(),
		progressbar.OptionSetPredictTime(total > 0),
		progressbar.OptionThrottle(100e6),
		progressbar.OptionClearOnFinish(),
	)
}

func isTerminal(f *os.File) bool {
	st, err := f.Stat()
	return err == nil && st.Mode()&os.ModeCharDevice != 0
}
