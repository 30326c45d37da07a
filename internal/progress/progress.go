// Package progress shows the progress of long offline work (pykv-check,
// pykv-compact, pykv-cli's --export and --import) as a bar on a terminal, through
// github.com/schollz/progressbar, and stays silent when the output is not
// a terminal, so that logs and pipes get no control characters.
package progress

import (
	"os"

	"github.com/schollz/progressbar/v3"
	"golang.org/x/term"
)

// Bar reports bytes done out of a total.
type Bar struct {
	bar *progressbar.ProgressBar
}

// New returns a bar titled desc on stderr, or a silent one when stderr is
// not a terminal or quiet is set.
func New(desc string, quiet bool) *Bar {
	if quiet || !term.IsTerminal(int(os.Stderr.Fd())) {
		return &Bar{}
	}
	return &Bar{bar: progressbar.NewOptions64(-1,
		progressbar.OptionSetDescription(desc),
		progressbar.OptionSetWriter(os.Stderr),
		progressbar.OptionShowBytes(true),
		progressbar.OptionSetWidth(30),
		progressbar.OptionThrottle(100_000_000), // redraw at most every 100 ms
		progressbar.OptionClearOnFinish(),
	)}
}

// NewCount returns a bar of things counted (keys), not bytes, titled
// desc on stderr, or a silent one when stderr is not a terminal or quiet
// is set. A total below 0 (unknown) shows a spinner and the count.
func NewCount(desc string, quiet bool) *Bar {
	if quiet || !term.IsTerminal(int(os.Stderr.Fd())) {
		return &Bar{}
	}
	return &Bar{bar: progressbar.NewOptions64(-1,
		progressbar.OptionSetDescription(desc),
		progressbar.OptionSetWriter(os.Stderr),
		progressbar.OptionShowCount(),
		progressbar.OptionShowIts(),
		progressbar.OptionSetItsString("keys"),
		progressbar.OptionSetWidth(30),
		progressbar.OptionThrottle(100_000_000),
		progressbar.OptionClearOnFinish(),
	)}
}

// Active reports whether the bar is drawn (stderr is a terminal).
func (b *Bar) Active() bool { return b.bar != nil }

// Set reports done bytes of total.
func (b *Bar) Set(done, total int64) {
	if b.bar == nil {
		return
	}
	if b.bar.GetMax64() != total {
		b.bar.ChangeMax64(total)
	}
	b.bar.Set64(done)
}

// Done removes the bar.
func (b *Bar) Done() {
	if b.bar != nil {
		b.bar.Finish()
	}
}
