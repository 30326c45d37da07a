# pykv — the map of how the project is built, run, tested, benchmarked and packaged.
# `make help` lists the targets.

GO          ?= go
BIN         := bin
VERSION     ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
LDFLAGS     := -X main.version=$(VERSION)
STATICCHECK := honnef.co/go/tools/cmd/staticcheck@v0.8.2
# A count, not a duration: with a duration, Go 1.26's fuzz coordinator can
# fail a target with "context deadline exceeded" at the deadline when a
# worker is slow to stop (golang/go#75804, fixed in Go 1.27). 150000 inputs
# take 3 to 15 s per target on 2 cores.
FUZZTIME    ?= 150000x
# fuzz-long's count per target: about an hour for the 12 targets on 2 busy
# cores. `make torture` fuzzes for TORTURE_FUZZ (about 21 min) so that it
# stays near an hour in all (docs/reliability.md has the measured times).
FUZZLONG    ?= 3000000x
TORTURE_FUZZ ?= 1000000x
# Crash-loop cycles per fsync policy of `make torture` (TestTortureCrashLoop;
# `make test` runs 3).
TORTURE_CYCLES ?= 1000
CMDS        := $(notdir $(wildcard cmd/*))

.PHONY: help build run test test-event-loop deps unit race lint vet cross staticcheck fmt fuzz fuzz-long bench gobench torture package clean

help: ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  %-12s %s\n", $$1, $$2}'

build: ## build every binary into ./bin
	@mkdir -p $(BIN)
	@for c in $(CMDS); do $(GO) build -ldflags "$(LDFLAGS)" -o $(BIN)/$$c ./cmd/$$c || exit 1; done

# `make run` reads the repository's pykv.toml, named explicitly so that
# what it reads never depends on a guess: that file holds exactly the
# built-in defaults until you edit it, and an edit (a password, say)
# applies to the next `make run`. The first log line names the file.
run: build ## start pykvd with the repository's pykv.toml (the built-in defaults), data under ./data
	./$(BIN)/pykvd --config pykv.toml

test: deps lint race fuzz ## everything CI runs: lint, unit+e2e tests with -race, a short fuzz run

# The end-to-end tests drive pykvd with redis-cli, redis-benchmark and a real
# redis-server, with redis-py (TestPythonRedisClient), through twemproxy
# (TestTwemproxyShards), and the Swagger UI page at /docs with headless
# Chromium (TestSwaggerUITryItOut); install them from Debian's packages when
# missing and root. TestDebPackage (packaging/) lints the .deb with lintian,
# and builds it with dpkg-shlibdeps and strip (dpkg-dev, which brings
# binutils); it installs it with the postinst's systemd-sysusers and
# systemd-tmpfiles and verifies the unit with systemd-analyze, all three in
# Debian 12's systemd package, which installs without being PID 1.
deps: ## install what the tests need (redis-server, redis-tools, python3-redis, nutcracker, chromium, lintian, dpkg-dev, systemd) when missing
	@if ! command -v redis-cli >/dev/null || ! command -v redis-server >/dev/null; then \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
	    echo "installing redis-server and redis-tools"; \
	    { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq redis-server redis-tools >/dev/null; } \
	      || echo "could not install redis-server/redis-tools: the tests that need them will be skipped"; \
	  else \
	    echo "redis-cli/redis-server missing and not root: the tests that need them will be skipped"; \
	  fi; \
	fi
	@if ! command -v nutcracker >/dev/null && [ ! -x /usr/sbin/nutcracker ]; then \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
	    echo "installing nutcracker (twemproxy)"; \
	    { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq nutcracker >/dev/null; } \
	      || echo "could not install nutcracker: the sharding test will be skipped"; \
	  else \
	    echo "nutcracker missing and not root: the sharding test will be skipped"; \
	  fi; \
	fi
	@if ! /usr/bin/python3 -c 'import redis' 2>/dev/null && ! python3 -c 'import redis' 2>/dev/null; then \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
	    echo "installing python3-redis"; \
	    { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq python3-redis >/dev/null; } \
	      || echo "could not install python3-redis: the redis-py client test will be skipped"; \
	  else \
	    echo "python3-redis missing and not root: the redis-py client test will be skipped"; \
	  fi; \
	fi
	@if ! command -v chromium >/dev/null; then \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
	    echo "installing chromium"; \
	    { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; } \
	      || echo "could not install chromium: the browser test of /docs will be skipped"; \
	  else \
	    echo "chromium missing and not root: the browser test of /docs will be skipped"; \
	  fi; \
	fi
	@if ! command -v lintian >/dev/null; then \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
	    echo "installing lintian"; \
	    { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq lintian >/dev/null; } \
	      || echo "could not install lintian: the lint of the .deb will be skipped"; \
	  else \
	    echo "lintian missing and not root: the lint of the .deb will be skipped"; \
	  fi; \
	fi
	@if ! command -v dpkg-shlibdeps >/dev/null || ! command -v strip >/dev/null; then \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
	    echo "installing dpkg-dev"; \
	    { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq dpkg-dev >/dev/null; } \
	      || echo "could not install dpkg-dev: the .deb test will fail to build the package"; \
	  else \
	    echo "dpkg-shlibdeps or strip missing and not root: the .deb test will fail to build the package"; \
	  fi; \
	fi
	@if ! command -v systemd-analyze >/dev/null || ! command -v systemd-sysusers >/dev/null || ! command -v systemd-tmpfiles >/dev/null; then \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
	    echo "installing systemd (systemd-analyze, systemd-sysusers, systemd-tmpfiles)"; \
	    { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq systemd >/dev/null; } \
	      || echo "could not install systemd: the install and verify parts of the .deb test will be skipped"; \
	  else \
	    echo "systemd tools missing and not root: the install and verify parts of the .deb test will be skipped"; \
	  fi; \
	fi

unit: ## unit and end-to-end tests without the race detector
	$(GO) test -count=1 ./...

# The RESP suites again with resp.event_loop on (PYKV_TEST_RESP_EVENT_LOOP=1:
# testdaemon and daemontest start every daemon with it), and the server
# package's own event-loop tests under the race detector. Not yet part of
# `make test`: the event loop is off by default (docs/performance.md, "An
# event loop for RESP"). About 2 minutes.
test-event-loop: ## the RESP end-to-end and twin tests with the RESP event loop on
	$(GO) test -race -count=1 -run 'TestEventLoop' ./server/
	PYKV_TEST_RESP_EVENT_LOOP=1 $(GO) test -count=1 -timeout 15m -run 'TestRESP|LikeRedis|TestClientKillAndReply|TestMonitor|TestShutdownCommand|TestMemoryUsage|TestAuthTimeout|TestIdleTimeout|TestFlood|TestRedisCLI|TestRedisBenchmark|TestTwemproxy|TestSIGTERM|TestSIGINT|TestKillKeepsAcknowledgedWrites|TestRestartKeepsData|TestTLS' ./cmd/pykvd/

race: ## unit and end-to-end tests with the race detector
	$(GO) test -race -count=1 -timeout 20m ./...

lint: fmt vet cross staticcheck ## gofmt, go vet, go vet for darwin, staticcheck

fmt: ## fail when a file is not gofmt-formatted
	@out=$$(gofmt -l $$(git ls-files '*.go' 2>/dev/null || find . -name '*.go')); \
	if [ -n "$$out" ]; then echo "gofmt would change:"; echo "$$out"; exit 1; fi

vet: ## go vet
	$(GO) vet ./...

# Linux is the platform pykvd is built for; darwin is checked so that a
# developer on a Mac can build and run the unit tests (vfs/doc.go says what
# each platform gets). About 3 min with a cold build cache on 2 busy cores,
# under 20 s once cached.
cross: ## go vet and go build for darwin (GOOS=darwin)
	GOOS=darwin $(GO) vet ./...
	GOOS=darwin $(GO) build ./...

staticcheck: ## staticcheck, pinned
	$(GO) run $(STATICCHECK) ./...

fuzz: ## run every fuzz target for FUZZTIME (default 150000x: inputs, or a duration such as 30s)
	@for pkg in $$($(GO) list ./...); do \
	  for f in $$($(GO) test -list '^Fuzz' $$pkg 2>/dev/null | grep '^Fuzz'); do \
	    echo "fuzz $$pkg $$f"; \
	    $(GO) test -run '^$$' -fuzz "^$$f$$" -fuzztime $(FUZZTIME) $$pkg || exit 1; \
	  done; \
	done

fuzz-long: ## every fuzz target for FUZZLONG inputs (default 3000000x); failures land in testdata/fuzz/
	$(MAKE) fuzz FUZZTIME=$(FUZZLONG)

bench: gobench ## Go benchmarks, pykv against Redis 7 and its pictures, replication's cost and lag, merges' write and space amplification (docs/performance.md)
	BENCH_DATA=docs/bench/data bench/compare.sh && $(GO) run ./bench/plot -data docs/bench/data -out docs/bench
	bench/replication.sh
	bench/merge-amp.sh

gobench: ## Go benchmarks only (figures, not assertions)
	$(GO) test -run '^$$' -bench . -benchmem ./...

torture: ## long runs: 1000 kill -9 cycles per fsync policy, 600 power cuts, floods, 20000 model sequences, 1M keys exported and imported, fuzz-long (docs/reliability.md)
	PYKV_TORTURE_CYCLES=$(TORTURE_CYCLES) $(GO) test -count=1 -timeout 60m -v -run '^TestTortureCrashLoop$$' ./cmd/pykvd/
	PYKV_TORTURE=1 $(GO) test -count=1 -timeout 60m -run 'TestKillDuringMerge' ./cmd/pykvd/
	PYKV_TORTURE=1 $(GO) test -count=1 -timeout 30m -run 'TestFlood' -v ./cmd/pykvd/
	PYKV_TORTURE=1 $(GO) test -count=1 -timeout 30m -run 'TestPowerLoss' -v ./storage/
	PYKV_TORTURE=1 $(GO) test -count=1 -timeout 10m -run 'TestExportImportMany' -v ./cmd/pykv-cli/
	$(GO) test -count=1 -timeout 60m -run 'TestModel' ./storage/ -rapid.checks=20000
	$(GO) test -count=1 -timeout 60m -race -run 'TestMergeUnderLoad|TestCrashAtEveryMergeStep' -count=20 ./storage/
	$(MAKE) fuzz-long FUZZLONG=$(TORTURE_FUZZ)

# packaging/deb_test.go (in `make test`) builds, lints and installs the same
# package (docs/operations.md, "Installing the .deb").
package: build ## build the .deb under dist/
	packaging/build-deb.sh $(VERSION)

clean: ## remove build output
	rm -rf $(BIN) dist
