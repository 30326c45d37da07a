// Command pykv-cli is pykv's command-line client, in the manner of
// redis-cli: it speaks the native protocol through package client and
// prints replies exactly as redis-cli prints Redis's.
//
//	pykv-cli                      a REPL with history, completion and hints
//	pykv-cli SET greeting hello   one command, then exit
//	pykv-cli < commands.txt       one command per line of standard input
//	pykv-cli --export FILE|-      every key as JSON lines, as of one seq
//	pykv-cli --import FILE|-      set the keys of JSON lines, with their expiries
//	pykv-cli --backup DIR         a consistent copy of the data directory, made by the server
//	pykv-cli -r N -i S CMD ...    CMD N times (-1: until Ctrl-C), S seconds apart
//	pykv-cli --json CMD ...       the reply as one line of JSON
//	pykv-cli --scan [--pattern P] every key (matching P), one per line
//	pykv-cli --bigkeys            the biggest values, and the keyspace's sizes
//	pykv-cli --stat               a line of the server's figures every -i seconds (1)
//	pykv-cli --latency            PING's round trip: min, max, average
//	pykv-cli --latency-history    the same, a line every -i seconds (15)
//
// --export writes package kvjson's lines (docs/format.md, "Export
// lines") from the server's EXPORT stream to FILE (through FILE.tmp,
// renamed once whole) or standard output, and its summary to standard
// error. --import sends them back in pipelined batches (MSET for keys
// without an expiry, SET ... PXAT for the others), skips keys already
// expired, names every line it could not use by its number on standard
// error, prints what it did on standard output, and exits 1 if any line
// failed. --backup sends BACKUP with DIR made absolute (DIR is on the
// server's machine). --export and --import show a progress bar on a
// terminal (standard error), unless --quiet.
//
// Lines (in the REPL and on standard input) are split with redis-cli's
// quoting: "double quotes" with \n \t \xHH escapes, 'single quotes'
// literal. A line may start with a repeat count ("3 INCR n"); help, quit,
// exit and clear are handled by pykv-cli itself.
//
// The modes after --backup are redis-cli's, in its output shapes (modes.go
// says where they differ, docs/operations.md "pykv-cli" too): -r bounds
// them (lines; samples for --latency), -i paces them, Ctrl-C ends them.
// --json (json.go) prints replies as redis-cli 7's --json does, except
// that every line is valid JSON: an error is {"error":"..."} and a string
// that is not UTF-8 is {"base64":"..."}.
//
// Replies are printed in redis-cli's standard form (OK, (nil),
// (integer) 3, "quoted", (error) ERR ..., numbered arrays) when standard
// output is a terminal, and in its raw form (bare values, one per line)
// otherwise or with --raw; --no-raw forces the standard form. INFO is
// always printed as its text, as redis-cli does.
//
// Exit codes: 0 on success; 1 when a command got an error reply (in
// one-shot mode, and for any line of standard input: unlike redis-cli,
// which needs -e for this, so that scripts notice) or no server answered
// (the message names host:port); 2 on a usage error.
package main

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"os"
	"os/signal"
	"strconv"
	"syscall"
	"time"

	"github.com/pykv/pykv/client"
)

// version is set at build time with -ldflags "-X main.version=...".
var version = "dev"

func main() { os.Exit(run(os.Args[1:])) }

// options are the command line's flags.
type options struct {
	host, user, password      string
	port                      int
	tls, insecure             bool
	caCert, cert, key, sni    string
	raw, noRaw, noAuthWarning bool
	showVersion               bool
	// export, importFrom and backup are --export FILE, --import FILE
	// and --backup DIR; quiet turns their progress bar off.
	export, importFrom, backup string
	quiet                      bool

	// repeat and interval are -r and -i: run the command repeat times
	// (-1: until interrupted), interval seconds apart; they also pace
	// and bound the modes below. repeatSet tells -r from its default.
	repeat    int
	repeatSet bool
	interval  float64
	// json prints replies (and the modes' lines) as JSON.
	json bool
	// The modes of modes.go: --scan with --pattern and --count,
	// --bigkeys, --stat, --latency and --latency-history.
	scan, bigkeys, stat, latency, latencyHistory bool
	pattern                                      string
	count                                        int
}

// maxInterval bounds -i, a day, so that its seconds are a time.Duration.
const maxInterval = 24 * time.Hour

func parseFlags(args []string, stderr io.Writer) (*options, []string, error) {
	o := &options{}
	fl := flag.NewFlagSet("pykv-cli", flag.ContinueOnError)
	fl.SetOutput(stderr)
	fl.StringVar(&o.host, "h", "127.0.0.1", "server hostname")
	fl.IntVar(&o.port, "p", 7380, "server port (the native protocol's)")
	fl.StringVar(&o.password, "a", "", "password (prefer the PYKVCLI_AUTH environment variable: flags show in ps)")
	fl.StringVar(&o.user, "user", "", "user name for AUTH (pykv's only user is \"default\")")
	fl.BoolVar(&o.tls, "tls", false, "connect with TLS")
	fl.StringVar(&o.caCert, "cacert", "", "CA certificate file (PEM) to verify the server with")
	fl.StringVar(&o.cert, "cert", "", "client certificate file (PEM)")
	fl.StringVar(&o.key, "key", "", "client private key file (PEM)")
	fl.StringVar(&o.sni, "sni", "", "server name for TLS (default: the host)")
	fl.BoolVar(&o.insecure, "insecure", false, "skip the verification of the server's certificate")
	fl.BoolVar(&o.raw, "raw", false, "print replies raw (the default when standard output is not a terminal)")
	fl.BoolVar(&o.noRaw, "no-raw", false, "print replies in the standard form even when standard output is not a terminal")
	fl.BoolVar(&o.noAuthWarning, "no-auth-warning", false, "do not warn about -a")
	fl.BoolVar(&o.showVersion, "version", false, "print the version and exit")
	fl.StringVar(&o.export, "export", "", "write every key, as of one seq, as JSON lines to `FILE` (- for standard output); costs the server a merge")
	fl.StringVar(&o.importFrom, "import", "", "set every key of the JSON lines of `FILE` (- for standard input), with its expiry")
	fl.StringVar(&o.backup, "backup", "", "make the server write a consistent copy of its data directory into `DIR`, a new or empty directory on the server's machine")
	fl.BoolVar(&o.quiet, "quiet", false, "no progress bar for --export and --import")
	fl.IntVar(&o.repeat, "r", 1, "run the command `N` times (-1: until interrupted); with --stat and --latency-history, print N lines; with --latency, take N samples")
	fl.Float64Var(&o.interval, "i", 0, "wait `seconds` (0.1 and the like allowed) between the commands of -r; the interval of --scan, --stat (default 1), --latency (default 1) and --latency-history (default 15), and the pause per 100 SCANs of --bigkeys")
	fl.BoolVar(&o.json, "json", false, "print replies as JSON: maps as objects, arrays as arrays, nil as null, errors as {\"error\": ...}, non-UTF-8 strings as {\"base64\": ...}; also the lines of --scan, --stat and --latency")
	fl.BoolVar(&o.scan, "scan", false, "list every key (matching --pattern) with SCAN, one per line")
	fl.StringVar(&o.pattern, "pattern", "", "the glob `pattern` of the keys --scan and --bigkeys look at (default: every key)")
	fl.IntVar(&o.count, "count", 0, "the COUNT `N` of each SCAN of --scan and --bigkeys (default: the server's, 10)")
	fl.BoolVar(&o.bigkeys, "bigkeys", false, "scan the keys and report the biggest value (by STRLEN) and the average sizes")
	fl.BoolVar(&o.stat, "stat", false, "print a line of the server's figures every -i seconds: keys, memory, clients, requests, lookups")
	fl.BoolVar(&o.latency, "latency", false, "measure PING's round trip: on a terminal, a live line until interrupted; otherwise one line after -i seconds (default 1) or -r samples")
	fl.BoolVar(&o.latencyHistory, "latency-history", false, "like --latency, a line per interval of -i seconds (default 15)")
	fl.Usage = func() {
		fmt.Fprintf(fl.Output(), `Usage: pykv-cli [options] [command [arg ...]]

Without a command: a REPL when standard input is a terminal, else one
command per line of standard input.

Options:
`)
		fl.PrintDefaults()
		fmt.Fprintf(fl.Output(), `
With --export, --import or --backup: that, then exit (docs/operations.md,
"Export and import", "Backup"). With --scan, --bigkeys, --stat, --latency
or --latency-history: that, until done, -r is reached, or Ctrl-C
(docs/operations.md, "pykv-cli").

Examples:
  pykv-cli SET greeting hello
  pykv-cli -p 7380 --raw GET greeting
  printf 'INCR n\nGET n\n' | pykv-cli
  pykv-cli --export dump.jsonl && pykv-cli -p 7390 --import dump.jsonl
  pykv-cli --backup /var/backups/pykv/2026-05-01
  pykv-cli -r 100 -i 0.5 INCR counter
  pykv-cli --json MGET a b
  pykv-cli --scan --pattern 'user:*'
  pykv-cli --bigkeys
  pykv-cli --stat -i 5
  pykv-cli --latency-history -i 1
`)
	}
	if err := fl.Parse(args); err != nil {
		return nil, nil, err
	}
	fl.Visit(func(f *flag.Flag) {
		if f.Name == "r" {
			o.repeatSet = true
		}
	})
	if o.repeat < -1 {
		return nil, nil, fmt.Errorf("-r %d: the repeat count is -1 (forever) or more", o.repeat)
	}
	if !(o.interval >= 0 && o.interval <= maxInterval.Seconds()) { // NaN too
		return nil, nil, fmt.Errorf("-i %v: the interval is 0 to %.0f seconds", o.interval, maxInterval.Seconds())
	}
	if o.count < 0 {
		return nil, nil, fmt.Errorf("--count %d: the SCAN count is 1 or more", o.count)
	}
	if (o.pattern != "" || o.count != 0) && !o.scan && !o.bigkeys {
		return nil, nil, errors.New("--pattern and --count go with --scan or --bigkeys")
	}
	if o.port < 0 || o.port > 65535 {
		return nil, nil, errors.New("invalid server port " + strconv.Itoa(o.port))
	}
	if mode, err := o.mode(); err != nil {
		return nil, nil, err
	} else if mode != "" && fl.NArg() > 0 {
		return nil, nil, fmt.Errorf("%s takes no command (%q given)", mode, fl.Arg(0))
	}
	return o, fl.Args(), nil
}

func run(args []string) int {
	o, cmd, err := parseFlags(args, os.Stderr)
	if errors.Is(err, flag.ErrHelp) {
		return 0
	}
	if err != nil {
		if !errors.Is(err, flag.ErrHelp) && err.Error() != "" {
			fmt.Fprintln(os.Stderr, "pykv-cli:", err)
		}
		return 2
	}
	if o.showVersion {
		fmt.Println("pykv-cli", version)
		return 0
	}
	if o.password != "" && !o.noAuthWarning {
		fmt.Fprintln(os.Stderr, "Warning: Using a password with '-a' on the command line interface may not be safe; "+
			"PYKVCLI_AUTH is safer.")
	}
	if o.password == "" {
		o.password = os.Getenv("PYKVCLI_AUTH")
	}
	addr := net.JoinHostPort(o.host, strconv.Itoa(o.port))
	tlsConfig, err := o.tlsConfig()
	if err != nil {
		fmt.Fprintln(os.Stderr, "pykv-cli:", err)
		return 2
	}
	mode, _ := o.mode()
	readTimeout := time.Duration(0) // the client's default
	if mode == "--backup" {
		readTimeout = -1 // BACKUP's merge takes what it takes
	}
	// One connection, so that AUTH, CLIENT SETNAME and the like typed in
	// the REPL apply to every command after them.
	c, err := client.New(client.Options{Addr: addr, Username: o.user, Password: o.password,
		TLSConfig: tlsConfig, PoolSize: 1, ReadTimeout: readTimeout})
	if err != nil {
		fmt.Fprintln(os.Stderr, "pykv-cli:", err)
		return 2
	}
	defer c.Close()

	if isLoopMode(mode) {
		ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
		defer stop()
		m := &monitor{c: c, addr: addr, out: os.Stdout, errOut: os.Stderr, tty: isTerminal(os.Stdout),
			raw: o.raw || !isTerminal(os.Stdout) && !o.noRaw, json: o.json,
			repeat: o.repeat, repeatSet: o.repeatSet, interval: o.interval,
			pattern: o.pattern, count: o.count, now: time.Now}
		return m.run(ctx, mode)
	}
	if mode != "" {
		ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
		defer stop()
		x := &transfer{c: c, addr: addr, stdin: os.Stdin, stdout: os.Stdout, out: os.Stdout, errOut: os.Stderr,
			now: time.Now, quiet: o.quiet}
		switch mode {
		case "--export":
			return x.exportFile(ctx, o.export)
		case "--import":
			return x.importFile(ctx, o.importFrom)
		default:
			return x.backupDir(ctx, o.backup)
		}
	}
	stdoutTTY := isTerminal(os.Stdout)
	s := &cli{c: c, addr: addr, version: version, out: os.Stdout, errOut: os.Stderr, connected: true,
		raw: o.raw || !stdoutTTY && !o.noRaw, color: stdoutTTY, json: o.json,
		repeat: o.repeat, interval: time.Duration(o.interval * float64(time.Second))}
	switch {
	case len(cmd) > 0:
		ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
		defer stop()
		return s.oneShot(ctx, cmd)
	case isTerminal(os.Stdin):
		return s.repl()
	default:
		return s.piped(context.Background(), os.Stdin)
	}
}

// tlsConfig returns the TLS configuration the flags ask for, or nil
// without --tls.
func (o *options) tlsConfig() (*tls.Config, error) {
	if !o.tls {
		if o.caCert != "" || o.cert != "" || o.key != "" || o.insecure || o.sni != "" {
			return nil, errors.New("--cacert, --cert, --key, --sni and --insecure need --tls")
		}
		return nil, nil
	}
	cfg := &tls.Config{ServerName: o.sni, InsecureSkipVerify: o.insecure}
	if o.caCert != "" {
		pem, err := os.ReadFile(o.caCert)
		if err != nil {
			return nil, err
		}
		cfg.RootCAs = x509.NewCertPool()
		if !cfg.RootCAs.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("%s: no PEM certificate found", o.caCert)
		}
	}
	if o.cert != "" || o.key != "" {
		if o.cert == "" || o.key == "" {
			return nil, errors.New("--cert and --key go together")
		}
		pair, err := tls.LoadX509KeyPair(o.cert, o.key)
		if err != nil {
			return nil, err
		}
		cfg.Certificates = []tls.Certificate{pair}
	}
	return cfg, nil
}
