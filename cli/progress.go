package cli

import (
	"io"
	"os"

	"github.com/schollz/progressbar/v3"
	"golang.org/x/term"
)

// progress reports a long command's advance on stderr when stderr is a
// terminal, and does nothing otherwise (a pipe, a file, a test), so
// scripts and logs never see bar redraws.
type progress struct{ bar *progressbar.ProgressBar }

// isTerminal reports whether w is a terminal.
func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	return ok && term.IsTerminal(int(f.Fd()))
}

// newProgress returns a bar counting toward max units (bytes when
// bytes is set, events otherwise), or an unbounded counter when max < 0.
func newProgress(w io.Writer, max int64, desc string, bytes bool) *progress {
	if !isTerminal(w) {
		return &progress{}
	}
	opts := []progressbar.Option{
		progressbar.OptionSetWriter(w),
		progressbar.OptionSetDescription(desc),
		progressbar.OptionShowCount(),
		progressbar.OptionThrottle(100_000_000), // redraw at most 10 times a second
		progressbar.OptionClearOnFinish(),
		progressbar.OptionSetWidth(30),
	}
	if bytes {
		opts = append(opts, progressbar.OptionShowBytes(true))
	} else {
		opts = append(opts, progressbar.OptionSetItsString("events"), progressbar.OptionShowIts())
	}
	if max < 0 {
		opts = append(opts, progressbar.OptionSpinnerType(14))
	}
	return &progress{bar: progressbar.NewOptions64(max, opts...)}
}

// add advances the bar by n units.
func (p *progress) add(n int64) {
	if p.bar != nil {
		p.bar.Add64(n) //nolint:errcheck // only a redraw can fail
	}
}

// set moves the bar to n units.
func (p *progress) set(n int64) {
	if p.bar != nil {
		p.bar.Set64(n) //nolint:errcheck // only a redraw can fail
	}
}

// done clears the bar.
func (p *progress) done() {
	if p.bar != nil {
		p.bar.Finish() //nolint:errcheck // only a redraw can fail
	}
}
