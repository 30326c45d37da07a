// Command pykvd is the pykv daemon: a durable key-value store speaking a
// compact binary protocol and Redis's RESP. It reads pykv.toml (optional),
// applies flags on top, and serves until SIGTERM or SIGINT. SIGHUP reads
// the file again, the flags over it, and applies what can change at run
// time (daemon.Reload). Sockets passed by systemd (LISTEN_FDS, named
// native, resp and http) are served instead of binding.
//
// Exit codes: 0 after a clean shutdown, 1 on a runtime failure (the data
// directory is damaged or locked, a port is taken), 2 on a usage or
// configuration error.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io/fs"
	"log/slog"
	"net/http"
	_ "net/http/pprof" // served only with --pprof-addr
	"os"
	"os/signal"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/coreos/go-systemd/v22/activation"
	sd "github.com/coreos/go-systemd/v22/daemon"

	"github.com/pykv/pykv/internal/config"
	"github.com/pykv/pykv/internal/daemon"
	"github.com/pykv/pykv/internal/gcpace"
	"github.com/pykv/pykv/netproto"
	"github.com/pykv/pykv/segment"
	"github.com/pykv/pykv/snapshot"
)

// version is set at build time with -ldflags "-X main.version=...".
var version = "dev"

func main() { os.Exit(run(os.Args[1:])) }

func run(args []string) int {
	fl := flag.NewFlagSet("pykvd", flag.ContinueOnError)
	def := config.Default()
	configPath := fl.String("config", "", "path of pykv.toml (default: ./pykv.toml when present, else built-in defaults)")
	showVersion := fl.Bool("version", false, "print the version and the formats this pykvd reads and writes, then exit")
	// Every setting of pykv.toml is a flag, made from config.Params:
	// the flags write into flags, and those given are copied over the
	// file's values once it is read.
	flags := def
	for _, p := range config.Params {
		fl.Var(p.Value(&flags), p.Flag(), p.Usage)
	}
	pprofAddr := fl.String("pprof-addr", "", "serve Go's pprof profiles on this address, e.g. 127.0.0.1:6060 (empty: off)")
	fl.Usage = func() {
		fmt.Fprintf(fl.Output(), "Usage: pykvd [flags]\n\nThe pykv daemon. Flags override pykv.toml; without a file the built-in defaults apply.\n\nFlags:\n")
		printFlags(fl)
	}
	if err := fl.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		return 2
	}
	if fl.NArg() > 0 {
		fmt.Fprintf(os.Stderr, "pykvd: unexpected argument %q\n", fl.Arg(0))
		return 2
	}
	if *showVersion {
		fmt.Printf("pykvd %s\nsegment format version %d (reads 1 to %d)\nsnapshot format version %d (reads 1 to %d)\nnative protocol version %d\n",
			version, segment.Version, segment.Version, snapshot.Version, snapshot.Version, netproto.Version)
		return 0
	}

	path := *configPath
	if path == "" {
		if _, err := os.Stat("pykv.toml"); err == nil {
			path = "pykv.toml"
		} else if !errors.Is(err, fs.ErrNotExist) {
			fmt.Fprintf(os.Stderr, "pykvd: %v\n", err)
			return 2
		}
	}
	// load reads the file (if any) and copies the flags given over it, at
	// start and again on each SIGHUP: a flag keeps overriding the file.
	load := func() (config.Config, error) {
		cfg := def
		if path != "" {
			var err error
			if cfg, err = config.Load(path); err != nil {
				return cfg, err
			}
		}
		fl.Visit(func(f *flag.Flag) {
			if p, ok := config.ParamByFlag(f.Name); ok {
				p.Copy(&cfg, &flags)
			}
		})
		if err := cfg.Validate(); err != nil {
			return cfg, fmt.Errorf("bad configuration:\n%w", err)
		}
		return cfg, nil
	}
	cfg, err := load()
	if err != nil {
		fmt.Fprintf(os.Stderr, "pykvd: %v\n", err)
		return 2
	}
	level := new(slog.LevelVar)
	_ = level.UnmarshalText([]byte(cfg.Log.Level)) // validated already
	log := newLogger(cfg.Log.Format, level)
	slog.SetDefault(log)
	if *pprofAddr != "" {
		go func() {
			log.Info("pprof listening", "addr", *pprofAddr)
			if err := http.ListenAndServe(*pprofAddr, nil); err != nil {
				log.Error("pprof listener failed", "err", err)
			}
		}()
	}
	listeners, err := activation.ListenersWithNames()
	if err != nil {
		log.Error("pykvd failed", "err", fmt.Errorf("systemd socket activation: %w", err))
		return 1
	}
	info := daemon.Info{Version: version, ConfigFile: path, LogLevel: level, Listeners: listeners}
	if procs, loops := daemon.EventLoopProcs(cfg, runtime.GOOS, runtime.GOMAXPROCS(0), os.Getenv("GOMAXPROCS") != ""); loops > 0 {
		runtime.GOMAXPROCS(procs)
		info.EventLoops = loops
		log.Info("GOMAXPROCS raised by one for the RESP event loop's fsyncs", "gomaxprocs", procs, "event_loops", loops)
	}
	if err := serve(cfg, info, load, log); err != nil {
		log.Error("pykvd failed", "err", err)
		return 1
	}
	return 0
}

// serve runs a daemon.Daemon until SIGTERM or SIGINT, reloading on SIGHUP
// the configuration load returns, and tells systemd when it is ready,
// reloading, alive (the watchdog) and stopping.
func serve(cfg config.Config, info daemon.Info, load func() (config.Config, error), log *slog.Logger) error {
	// Signals are caught from the first instant: a SIGTERM during start-up
	// (systemd stopping a unit it just started) waits in the channel and
	// becomes a clean shutdown once serving starts, instead of killing the
	// process by the default action.
	sigs := make(chan os.Signal, 4)
	signal.Notify(sigs, syscall.SIGTERM, syscall.SIGINT, syscall.SIGHUP)
	defer signal.Stop(sigs)
	d, err := daemon.New(cfg, info, log)
	if err != nil {
		return err
	}
	served := make(chan error, 1)
	go func() { served <- d.Serve(context.Background()) }()
	select {
	case <-d.Ready():
	case err := <-served:
		return err
	}
	sd.SdNotify(false, sd.SdNotifyReady+"\nSTATUS=serving")
	stopWatchdog := startWatchdog(log)
	defer stopWatchdog()
	if gcpace.Enabled() { // GOGC in the environment: the operator's choice
		ctx, stopPacer := context.WithCancel(context.Background())
		defer stopPacer()
		go gcpace.New(log).Run(ctx)
	}
	for {
		select {
		case sig := <-sigs:
			if sig == syscall.SIGHUP {
				reload(d, info.ConfigFile, load, log)
				continue
			}
			log.Info("shutting down", "signal", sig.String())
			sd.SdNotify(false, sd.SdNotifyStopping)
			ctx, cancel := context.WithTimeout(context.Background(), shutdownGrace)
			defer cancel()
			err := d.Shutdown(ctx)
			if serr := <-served; err == nil {
				err = serr
			}
			return err
		case err := <-served: // a listener failed or SHUTDOWN ran; the daemon is shut down
			sd.SdNotify(false, sd.SdNotifyStopping)
			return err
		}
	}
}

// shutdownGrace bounds how long in-flight requests may take at shutdown
// before their connections are cut.
const shutdownGrace = 10 * time.Second

// reload is SIGHUP's: it tells systemd it is reloading (RELOADING=1 with
// the CLOCK_MONOTONIC time, as systemd 253's Type=notify-reload wants it),
// reads the configuration again as at start (the file, then the flags
// given over it) and has the daemon apply it, then tells systemd it is
// ready again. A file that does not read or validate is logged, with its
// name and line, and the running configuration stays.
func reload(d *daemon.Daemon, file string, load func() (config.Config, error), log *slog.Logger) {
	sd.SdNotify(false, fmt.Sprintf("%s\nMONOTONIC_USEC=%d", sd.SdNotifyReloading, monotonicUsec()))
	defer sd.SdNotify(false, sd.SdNotifyReady+"\nSTATUS=serving")
	source := "SIGHUP"
	if file == "" {
		log.Info("SIGHUP: no configuration file; the flags are read again")
	} else {
		source += " " + file
	}
	next, err := load()
	if err != nil {
		log.Error("configuration not reloaded; the running one stays", "source", source, "err", err)
		return
	}
	_, _ = d.Reload(next, source) // Reload logs what it did
}

// startWatchdog pings systemd's watchdog at half its interval when the
// unit sets WatchdogSec.
func startWatchdog(log *slog.Logger) (stop func()) {
	interval, err := sd.SdWatchdogEnabled(false)
	if err != nil || interval == 0 {
		return func() {}
	}
	done := make(chan struct{})
	go func() {
		t := time.NewTicker(interval / 2)
		defer t.Stop()
		for {
			select {
			case <-done:
				return
			case <-t.C:
				sd.SdNotify(false, sd.SdNotifyWatchdog)
			}
		}
	}()
	log.Debug("systemd watchdog enabled", "interval", interval)
	return func() { close(done) }
}

// printFlags writes the flags as flag.PrintDefaults does, with each
// setting's kind of value from config.Params in place of flag's "value".
func printFlags(fl *flag.FlagSet) {
	fl.VisitAll(func(f *flag.Flag) {
		arg, usage := flag.UnquoteUsage(f)
		def := f.DefValue
		if p, ok := config.ParamByFlag(f.Name); ok {
			arg = p.Arg()
			if def != "" && p.IsString() {
				def = strconv.Quote(def)
			}
		}
		fmt.Fprintln(fl.Output(), flagHelp(f.Name, arg, usage, def))
	})
}

// flagHelp is one flag's entry in --help, in flag.PrintDefaults's layout;
// an empty or false default is not shown.
func flagHelp(name, arg, usage, def string) string {
	line := "  -" + name
	if arg != "" {
		line += " " + arg
	}
	line += "\n    \t" + strings.ReplaceAll(usage, "\n", "\n    \t")
	if def != "" && def != "false" {
		line += " (default " + def + ")"
	}
	return line
}

func newLogger(format string, level *slog.LevelVar) *slog.Logger {
	opts := &slog.HandlerOptions{Level: level}
	if format == "json" {
		return slog.New(slog.NewJSONHandler(os.Stderr, opts))
	}
	return slog.New(slog.NewTextHandler(os.Stderr, opts))
}
