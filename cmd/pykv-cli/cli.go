package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"strconv"
	"strings"
	"syscall"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/pykv/pykv/netproto/resp"

	"github.com/pykv/pykv/client"
	"github.com/pykv/pykv/netproto"
	"github.com/pykv/pykv/reply"
)

// cli runs commands against one server and prints their replies.
type cli struct {
	c       *client.Client
	addr    string
	version string
	raw     bool // print replies in the raw form
	json    bool // print replies as JSON (--json)
	color   bool // colour the help (stdout is a terminal)
	out     io.Writer
	errOut  io.Writer

	// repeat and interval are -r and -i: how many times a one-shot
	// command, or a line of standard input without its own count, runs
	// (-1: until interrupted), and the pause between two runs.
	repeat   int
	interval time.Duration
	// pipedInput is set while standard input's lines run, to which -r applies
	// as to a one-shot command (not to the REPL's lines, as in redis-cli).
	pipedInput bool

	// connected is false once a command found no server; the REPL's
	// prompt says so until one answers again.
	connected bool
	// failures counts commands answered with an error reply or not
	// answered at all.
	failures int
}

// exec runs one command and prints its reply. It reports false when the
// command failed: an error reply, or no reply (whose reason goes to
// errOut).
func (s *cli) exec(ctx context.Context, args []string) bool {
	argv := make([]any, len(args))
	for i, a := range args {
		argv[i] = a
	}
	rep, err := s.c.Do(ctx, argv...).Result()
	if rep.Kind == 0 && ctx.Err() != nil {
		return false // interrupted (Ctrl-C): no failure of the command's
	}
	if rep.Kind == 0 {
		s.connected = false
		s.failures++
		fmt.Fprintln(s.errOut, describe(err, s.addr))
		return false
	}
	s.connected = true
	s.print(rep, strings.EqualFold(args[0], "info"))
	if rep.IsError() {
		s.failures++
		return false
	}
	return true
}

// print writes a reply in the chosen form. verbatim is redis-cli's
// treatment of INFO: its text is printed as it is, in either form.
func (s *cli) print(rep reply.Reply, verbatim bool) {
	var text string
	switch {
	case verbatim:
		text = formatVerbatim(rep)
	case s.json:
		text = formatJSON(rep)
	case s.raw:
		text = formatRaw(rep)
	default:
		text = formatStandard(rep)
	}
	io.WriteString(s.out, text)
}

// describe turns an error that kept a command from getting a reply into
// the line redis-cli would print: "Could not connect to pykv at
// 127.0.0.1:7380: Connection refused" when there is no server, a hint
// at the right port when the server speaks RESP,
// "AUTH failed: ..." for a refused password, "Error: ..." otherwise.
func describe(err error, addr string) string {
	msg := strings.TrimPrefix(err.Error(), "pykv/client: ")
	var op *net.OpError
	var errno syscall.Errno
	switch {
	case errors.As(err, &op) && op.Op == "dial":
		reason := op.Err.Error()
		if errors.As(err, &errno) {
			reason = errno.Error()
		}
		return "Could not connect to pykv at " + addr + ": " + capitalize(reason)
	case errors.Is(err, netproto.ErrRESPServer):
		_, port, _ := net.SplitHostPort(addr)
		return addr + " speaks RESP (Redis's protocol), not pykv's native protocol: " +
			"use -p 7380 (the native port by default) or redis-cli -p " + port
	case errors.Is(err, netproto.ErrBadMagic):
		return "Could not connect to pykv at " + addr + ": the server does not speak pykv's native protocol " +
			"(pykv-cli needs the native port, 7380 by default, not the RESP one)"
	case errors.As(err, new(*client.Error)):
		return msg // "AUTH failed: WRONGPASS ..."
	}
	return "Error: " + msg
}

func capitalize(s string) string {
	r, n := utf8.DecodeRuneInString(s)
	return string(unicode.ToUpper(r)) + s[n:]
}

// line runs one line of input, as the REPL and piped input do: split it
// with redis-cli's quoting, take a leading repeat count ("3 INCR n"),
// handle the client's own commands (help, quit, clear) and send the rest.
// remember is called with lines worth keeping in the history. It reports
// whether the user asked to quit.
func (s *cli) line(ctx context.Context, text string, remember func(string)) (quit bool) {
	args, err := resp.SplitArgs(text)
	if err != nil {
		fmt.Fprintln(s.out, "Invalid argument(s)")
		remember(text)
		return false
	}
	if len(args) == 0 {
		return false
	}
	repeat, interval := 1, time.Duration(0)
	if s.pipedInput {
		repeat, interval = s.repeat, s.interval
	}
	if len(args) > 1 {
		if n, err := strconv.Atoi(args[0]); err == nil {
			if n <= 0 {
				fmt.Fprintln(s.out, "Invalid pykv-cli repeat command option value.")
				return false
			}
			repeat, args = n, args[1:]
		} else if isNumber(args[0]) {
			fmt.Fprintln(s.out, "Invalid pykv-cli repeat command option value.")
			return false
		}
	}
	if !sensitive(args) {
		remember(text)
	}
	switch name := strings.ToLower(args[0]); {
	case name == "quit" || name == "exit":
		return true
	case name == "help" || name == "?":
		io.WriteString(s.out, topicHelp(args[1:], s.version, s.color))
		return false
	case name == "clear" && len(args) == 1:
		io.WriteString(s.out, "\x1b[H\x1b[2J")
		return false
	}
	s.execRepeat(ctx, args, repeat, interval, !s.raw && !s.json)
	return false
}

// oneShot runs the command of the command line -r times, -i apart, and
// returns the exit code: 1 if any run failed.
func (s *cli) oneShot(ctx context.Context, args []string) int {
	s.execRepeat(ctx, args, s.repeat, s.interval, false)
	if s.failures > 0 {
		return 1
	}
	return 0
}

// execRepeat runs args repeat times (forever when repeat is -1),
// waiting interval between two runs, until ctx is done. timing prints
// how long a slow command took, as the REPL does.
func (s *cli) execRepeat(ctx context.Context, args []string, repeat int, interval time.Duration, timing bool) {
	for i := 0; repeat < 0 || i < repeat; i++ {
		if i > 0 && interval > 0 && !sleep(ctx, interval) {
			return
		}
		start := time.Now()
		s.exec(ctx, args)
		if ctx.Err() != nil {
			return
		}
		if d := time.Since(start); d >= 500*time.Millisecond && timing {
			fmt.Fprintf(s.out, "(%.2fs)\n", d.Seconds())
		}
	}
}

// sleep waits d, or until ctx is done; it reports whether d passed.
func sleep(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
		return false
	}
}

// isNumber reports whether s is an integer too large for a repeat count.
func isNumber(s string) bool {
	s = strings.TrimPrefix(s, "-")
	return s != "" && strings.Trim(s, "0123456789") == ""
}

// sensitive reports whether a command carries a password, and so is kept
// out of the history file, as redis-cli does.
func sensitive(args []string) bool {
	name := strings.ToLower(args[0])
	if name == "auth" {
		return true
	}
	if name == "hello" {
		for _, a := range args[1:] {
			if strings.EqualFold(a, "auth") {
				return true
			}
		}
	}
	return false
}

// piped runs every line of r, as redis-cli does when its input is not a
// terminal, and returns the exit code: 1 when any command failed.
func (s *cli) piped(ctx context.Context, r io.Reader) int {
	s.pipedInput = true
	defer func() { s.pipedInput = false }()
	br := bufio.NewReader(r)
	for {
		text, err := br.ReadString('\n')
		if text != "" {
			if s.line(ctx, strings.TrimRight(text, "\r\n"), func(string) {}) {
				break
			}
		}
		if err == io.EOF {
			break
		}
		if err != nil {
			fmt.Fprintln(s.errOut, "Error: reading standard input:", err)
			return 1
		}
	}
	if s.failures > 0 {
		return 1
	}
	return 0
}
