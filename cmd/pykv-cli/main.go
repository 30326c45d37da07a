// Command pykv-cli is pykv's command-line client, in the manner of
// redis-cli: it speaks the native protocol through package client and
// prints replies exactly as redis-cli prints Redis's.
//
//	pykv-cli                      a REPL with history, completion and hints
//	pykv-cli SET greeting hello   one command, then exit
//	pykv-cli < commands.txt       one command per line of standard input
//
// Lines (in the REPL and on standard input) are split with redis-cli's
// quoting: "double quotes" with \n \t \xHH escapes, 'single quotes'
// literal. A line may start with a repeat count ("3 INCR n"); help, quit,
// exit and clear are handled by pykv-cli itself.
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
	"strconv"

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
}

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
	fl.Usage = func() {
		fmt.Fprintf(fl.Output(), `Usage: pykv-cli [options] [command [arg ...]]

Without a command: a REPL when standard input is a terminal, else one
command per line of standard input.

Options:
`)
		fl.PrintDefaults()
		fmt.Fprintf(fl.Output(), `
Examples:
  pykv-cli SET greeting hello
  pykv-cli -p 7380 --raw GET greeting
  printf 'INCR n\nGET n\n' | pykv-cli
`)
	}
	if err := fl.Parse(args); err != nil {
		return nil, nil, err
	}
	if o.port < 0 || o.port > 65535 {
		return nil, nil, errors.New("invalid server port " + strconv.Itoa(o.port))
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
	// One connection, so that AUTH, CLIENT SETNAME and the like typed in
	// the REPL apply to every command after them.
	c, err := client.New(client.Options{Addr: addr, Username: o.user, Password: o.password,
		TLSConfig: tlsConfig, PoolSize: 1})
	if err != nil {
		fmt.Fprintln(os.Stderr, "pykv-cli:", err)
		return 2
	}
	defer c.Close()

	stdoutTTY := isTerminal(os.Stdout)
	s := &cli{c: c, addr: addr, version: version, out: os.Stdout, errOut: os.Stderr, connected: true,
		raw: o.raw || !stdoutTTY && !o.noRaw, color: stdoutTTY}
	switch {
	case len(cmd) > 0:
		if !s.exec(context.Background(), cmd) {
			return 1
		}
		return 0
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
