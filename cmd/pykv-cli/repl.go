package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"sync/atomic"

	"github.com/chzyer/readline"
	"github.com/chzyer/readline/runes"
)

// historyFile returns where the REPL keeps its history: $PYKVCLI_HISTFILE
// when set ("/dev/null" keeps none), else ~/.pykv_history.
func historyFile() string {
	if f, ok := os.LookupEnv("PYKVCLI_HISTFILE"); ok {
		return f
	}
	home, err := os.UserHomeDir()
	if err != nil {
		return ""
	}
	return filepath.Join(home, ".pykv_history")
}

// repl reads commands from the terminal with line editing, history, tab
// completion and argument hints, until quit, exit, Ctrl-D, or Ctrl-C on an
// empty line. Ctrl-C while a command runs abandons that command.
func (s *cli) repl() int {
	h := &hinter{width: readline.GetScreenWidth}
	rl, err := readline.NewEx(&readline.Config{
		Prompt:                 s.prompt(),
		HistoryFile:            historyFile(),
		DisableAutoSaveHistory: true, // passwords stay out of it
		HistorySearchFold:      true,
		AutoComplete:           completer{},
		Painter:                h,
	})
	if err != nil {
		fmt.Fprintln(s.errOut, "pykv-cli:", err)
		return 1
	}
	defer rl.Close()
	s.probe()
	for {
		prompt := s.prompt()
		h.setPrompt(prompt)
		rl.SetPrompt(prompt)
		text, err := rl.Readline()
		switch {
		case errors.Is(err, readline.ErrInterrupt):
			if text == "" {
				return 0
			}
			continue
		case errors.Is(err, io.EOF):
			return 0
		case err != nil:
			fmt.Fprintln(s.errOut, "pykv-cli:", err)
			return 1
		}
		ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
		quit := s.line(ctx, text, func(l string) { rl.SaveHistory(l) })
		stop()
		if quit {
			return 0
		}
	}
}

// probe connects before the first prompt, as redis-cli does, so that the
// prompt tells whether a server is there, and says why when none is.
func (s *cli) probe() {
	s.connected = true
	rep, err := s.c.Do(context.Background(), "PING").Result()
	if rep.Kind == 0 && err != nil {
		s.connected = false
		fmt.Fprintln(s.errOut, describe(err, s.addr))
	}
}

// prompt is redis-cli's: the address, or "not connected" after a failure.
func (s *cli) prompt() string {
	if !s.connected {
		return "not connected> "
	}
	return s.addr + "> "
}

// hinter paints the hint for the command being typed, in grey after the
// cursor, as redis-cli does: "SET k" shows " value [NX|XX] ...".
type hinter struct {
	// promptWidth is written by the REPL's goroutine and read by the line
	// editor's, which paints on its own (on a terminal resize).
	promptWidth atomic.Int64
	width       func() int // the terminal's width; readline.GetScreenWidth
}

func (h *hinter) setPrompt(p string) { h.promptWidth.Store(int64(runes.WidthAll([]rune(p)))) }

// Paint implements readline.Painter. The hint is only drawn with the
// cursor at the end of the line, and only where it fits on the screen
// line, because the line editor does not know it is there: the cursor is
// moved back over it, and the editor's clear-to-end-of-screen wipes it at
// the next redraw.
func (h *hinter) Paint(line []rune, pos int) []rune {
	if pos != len(line) || len(line) == 0 || line[len(line)-1] == '\n' {
		return line
	}
	text := hint(string(line))
	if text == "" {
		return line
	}
	width := h.width()
	if width <= 0 {
		return line
	}
	used := (int(h.promptWidth.Load()) + runes.WidthAll(line)) % width
	room := width - used - 1
	if room <= 0 {
		return line
	}
	if runes.WidthAll([]rune(text)) > room {
		// Cut, and say so: a hint that just stops reads as the whole
		// syntax.
		text = string([]rune(text)[:room-1]) + ellipsis
	}
	painted := make([]rune, 0, len(line)+len(text)+16)
	painted = append(painted, line...)
	painted = append(painted, []rune("\x1b[90m"+text+"\x1b[0m"+fmt.Sprintf("\x1b[%dD", runes.WidthAll([]rune(text))))...)
	return painted
}

// ellipsis ends a hint cut to the screen's width; it takes one column.
const ellipsis = "…"

// isTerminal reports whether f is a terminal.
func isTerminal(f *os.File) bool { return readline.IsTerminal(int(f.Fd())) }
