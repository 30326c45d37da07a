//go:build linux

package packaging

import (
	"bufio"
	"bytes"
	"context"
	"crypto/md5"
	"debug/elf"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// debVersion is the version the test builds the package as.
const debVersion = "1.2.3~test"

// Bounds of the test's waits.
const (
	buildTimeout = 8 * time.Minute // go build of cmd/... with a cold cache on 2 busy cores (over 3 min once, at load 10)
	toolTimeout  = 3 * time.Minute // dpkg, lintian, systemd-analyze, ...
	readyTimeout = 10 * time.Second
)

// deb is the package built once by TestDebPackage, and what its subtests
// share.
type deb struct {
	path    string            // the .deb
	bin     string            // the directory of the binaries it was built from
	tree    string            // the package's files, extracted with dpkg-deb -x
	control string            // its control files, extracted with dpkg-deb -e
	entries map[string]string // data.tar's entries (path without "./") → "mode owner/group"
	unit    string            // the unit's path inside the package, "/lib/systemd/system/pykvd.service" or under /usr
}

// TestDebPackage builds the .deb with build-deb.sh, as `make package`
// does, from binaries it builds itself, and checks it in four ways:
// Contents (what dpkg-deb says it holds, byte for byte against the
// repository), Lintian (no error), Verify (systemd-analyze verify on the
// unit) and Install (dpkg into a scratch root, then pykvd started from it
// as the unit says, then removed and purged). Each part skips, saying
// why, where its tool is missing; `make deps` installs them.
func TestDebPackage(t *testing.T) {
	need(t, "go", "dpkg-deb", "dpkg", "strip", "dpkg-shlibdeps")
	p := buildDeb(t)
	t.Run("Contents", func(t *testing.T) { testContents(t, p) })
	t.Run("Lintian", func(t *testing.T) { t.Parallel(); testLintian(t, p) })
	t.Run("Verify", func(t *testing.T) { t.Parallel(); testVerify(t, p) })
	t.Run("Install", func(t *testing.T) { t.Parallel(); testInstall(t, p) })
}

// need skips t unless every tool is on PATH.
func need(t *testing.T, tools ...string) {
	t.Helper()
	for _, tool := range tools {
		if _, err := exec.LookPath(tool); err != nil {
			t.Skipf("%s not found on PATH (make deps installs it when root): %v", tool, err)
		}
	}
}

// run runs a command with a bounded time and returns its combined
// output, failing t when it does not exit 0.
func run(t *testing.T, env []string, name string, args ...string) string {
	t.Helper()
	out, err := runErr(env, name, args...)
	if err != nil {
		t.Fatalf("%s %s: %v\n%s", name, strings.Join(args, " "), err, out)
	}
	return out
}

func runErr(env []string, name string, args ...string) (string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), toolTimeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.Env = append(os.Environ(), env...)
	out, err := cmd.CombinedOutput()
	return string(out), err
}

func buildDeb(t *testing.T) *deb {
	t.Helper()
	dir := t.TempDir()
	p := &deb{bin: filepath.Join(dir, "bin"), tree: filepath.Join(dir, "tree"), control: filepath.Join(dir, "control")}
	ctx, cancel := context.WithTimeout(context.Background(), buildTimeout)
	defer cancel()
	// Not -race whatever the test runs with: the binaries are the thing
	// packaged, as `make build` makes them.
	build := exec.CommandContext(ctx, "go", "build", "-ldflags", "-X main.version="+debVersion, "-o", p.bin+"/", "github.com/pykv/pykv/cmd/...")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	out := run(t, []string{"BIN_DIR=" + p.bin, "DIST_DIR=" + filepath.Join(dir, "dist")}, "bash", "build-deb.sh", debVersion)
	lines := strings.Split(strings.TrimSpace(out), "\n")
	p.path = lines[len(lines)-1]
	if !strings.HasSuffix(p.path, ".deb") || !filepath.IsAbs(p.path) {
		t.Fatalf("build-deb.sh printed %q, want the absolute path of the .deb last", out)
	}
	run(t, nil, "dpkg-deb", "-x", p.path, p.tree)
	run(t, nil, "dpkg-deb", "-e", p.path, p.control)

	p.entries = map[string]string{}
	for _, line := range strings.Split(strings.TrimSpace(run(t, nil, "dpkg-deb", "--contents", p.path)), "\n") {
		// -rwxr-xr-x root/root   12345 2026-12-02 13:25 ./usr/bin/pykvd
		f := strings.Fields(line)
		if len(f) < 6 {
			t.Fatalf("dpkg-deb --contents: unexpected line %q", line)
		}
		name := strings.TrimSuffix(strings.TrimPrefix(f[5], "."), "/")
		p.entries[name] = f[0] + " " + f[1]
	}
	for _, u := range []string{"/lib/systemd/system/pykvd.service", "/usr/lib/systemd/system/pykvd.service"} {
		if _, ok := p.entries[u]; ok {
			p.unit = u
		}
	}
	if p.unit == "" {
		t.Fatalf("the package has no pykvd.service under /lib/systemd/system or /usr/lib/systemd/system:\n%v", p.entries)
	}
	return p
}

// testContents checks what the package holds: the files at their places
// with their modes, owned by root, identical to the repository's; the
// control fields; the conffile; the maintainer scripts.
func testContents(t *testing.T, p *deb) {
	want := []struct{ path, entry, repo string }{
		{"/usr/bin/pykvd", "-rwxr-xr-x root/root", ""},
		{"/usr/bin/pykv-cli", "-rwxr-xr-x root/root", ""},
		{"/usr/bin/pykv-check", "-rwxr-xr-x root/root", ""},
		{"/usr/bin/pykv-compact", "-rwxr-xr-x root/root", ""},
		{"/usr/bin/pykv-bench", "-rwxr-xr-x root/root", ""},
		{p.unit, "-rw-r--r-- root/root", "pykvd.service"},
		{"/usr/lib/sysusers.d/pykv.conf", "-rw-r--r-- root/root", "pykv.sysusers"},
		{"/usr/lib/tmpfiles.d/pykv.conf", "-rw-r--r-- root/root", "pykv.tmpfiles"},
		{"/etc/pykv/pykv.toml", "-rw-r----- root/root", "../pykv.toml"},
		{"/usr/share/doc/pykv/copyright", "-rw-r--r-- root/root", "copyright"},
		{"/usr/share/doc/pykv/changelog.gz", "-rw-r--r-- root/root", ""},
		{"/usr/share/doc/pykv/README.md", "-rw-r--r-- root/root", "../README.md"},
		{"/usr/share/doc/pykv/operations.md", "-rw-r--r-- root/root", "../docs/operations.md"},
		{"/usr/share/doc/pykv/pykvd.socket.example", "-rw-r--r-- root/root", "pykvd.socket"},
	}
	for _, w := range want {
		if got, ok := p.entries[w.path]; !ok {
			t.Errorf("the package has no %s", w.path)
		} else if got != w.entry {
			t.Errorf("%s is %q in the package, want %q", w.path, got, w.entry)
		}
		if w.repo == "" {
			continue
		}
		repo, err := os.ReadFile(w.repo)
		if err != nil {
			t.Fatal(err)
		}
		if got, err := os.ReadFile(filepath.Join(p.tree, w.path)); err != nil {
			t.Error(err)
		} else if !bytes.Equal(got, repo) {
			t.Errorf("%s in the package differs from the repository's %s", w.path, w.repo)
		}
	}
	for name, entry := range p.entries {
		if !strings.Contains(entry, " root/root") {
			t.Errorf("%s is %q in the package, want it owned by root/root", name, entry)
		}
	}
	// The installed binaries run and say the version they were built as.
	if out := run(t, nil, filepath.Join(p.tree, "usr/bin/pykvd"), "--version"); !strings.Contains(out, debVersion) {
		t.Errorf("the packaged pykvd --version printed %q, want %s in it", out, debVersion)
	}

	fields := controlFields(t, filepath.Join(p.control, "control"))
	arch := strings.TrimSpace(run(t, nil, "dpkg", "--print-architecture"))
	for k, v := range map[string]string{"Package": "pykv", "Version": debVersion, "Architecture": arch, "Section": "database"} {
		if fields[k] != v {
			t.Errorf("control field %s is %q, want %q", k, fields[k], v)
		}
	}
	// Depends: systemd (the postinst runs systemd-sysusers and
	// systemd-tmpfiles, which Debian 12's systemd package ships), and libc6
	// at a version when pykvd is linked with it (a cgo build).
	deps := map[string]string{}
	for _, d := range strings.Split(fields["Depends"], ",") {
		name, version, _ := strings.Cut(strings.TrimSpace(d), " ")
		deps[name] = version
	}
	if _, ok := deps["systemd"]; !ok {
		t.Errorf("Depends is %q, want systemd in it", fields["Depends"])
	}
	libs, err := elfLibraries(filepath.Join(p.bin, "pykvd"))
	if err != nil {
		t.Fatal(err)
	}
	if slices.Contains(libs, "libc.so.6") && !strings.HasPrefix(deps["libc6"], "(>= ") {
		t.Errorf("pykvd links %v but Depends is %q, want libc6 (>= version) in it", libs, fields["Depends"])
	}

	// The configuration is a conffile, so that an upgrade keeps the
	// administrator's edits; it is the only one.
	conffiles, err := os.ReadFile(filepath.Join(p.control, "conffiles"))
	if err != nil {
		t.Fatal(err)
	}
	if got := strings.Fields(string(conffiles)); !slices.Equal(got, []string{"/etc/pykv/pykv.toml"}) {
		t.Errorf("conffiles lists %q, want /etc/pykv/pykv.toml only", got)
	}

	// Maintainer scripts: the postinst makes the user and the directory;
	// each is a POSIX sh script that parses, stops at the first error and
	// is executable.
	if _, err := os.Stat(filepath.Join(p.control, "postinst")); err != nil {
		t.Errorf("no postinst: the pykv user and /var/lib/pykv would never be made: %v", err)
	}
	for _, s := range []string{"preinst", "postinst", "prerm", "postrm"} {
		path := filepath.Join(p.control, s)
		fi, err := os.Stat(path)
		if errors.Is(err, fs.ErrNotExist) {
			continue
		} else if err != nil {
			t.Fatal(err)
		}
		if fi.Mode().Perm() != 0o755 {
			t.Errorf("%s has mode %v, want 0755", s, fi.Mode().Perm())
		}
		text, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		if !strings.HasPrefix(string(text), "#!/bin/sh\nset -e\n") {
			t.Errorf("%s does not begin with #!/bin/sh and set -e:\n%s", s, text)
		}
		if out, err := runErr(nil, "sh", "-n", path); err != nil {
			t.Errorf("sh -n %s: %v\n%s", s, err, out)
		}
	}

	// The unit, the sysusers entry and the tmpfiles entry agree: the unit
	// runs as the user sysusers makes, in the directory tmpfiles makes.
	unit := parseUnit(t, filepath.Join(p.tree, p.unit))
	user, dataDir := sysusersUser(t, p.tree), tmpfilesDir(t, p.tree)
	if u := unit.one(t, "User"); u != user {
		t.Errorf("the unit runs as User=%s, the sysusers entry makes %s", u, user)
	}
	if g := unit.one(t, "Group"); g != user {
		t.Errorf("the unit runs as Group=%s, the sysusers entry makes group %s", g, user)
	}
	if w := unit.one(t, "WorkingDirectory"); w != dataDir {
		t.Errorf("WorkingDirectory=%s, tmpfiles makes %s", w, dataDir)
	}
	if !slices.Contains(unit["ReadWritePaths"], dataDir) {
		t.Errorf("ReadWritePaths=%v does not name %s", unit["ReadWritePaths"], dataDir)
	}
	argv := unit.execStart(t)
	if i := slices.Index(argv, "--data-dir"); i < 0 || i+1 >= len(argv) || argv[i+1] != dataDir {
		t.Errorf("ExecStart=%v does not pass --data-dir %s", argv, dataDir)
	}
	if _, ok := p.entries[argv[0]]; !ok {
		t.Errorf("ExecStart runs %s, which the package does not hold", argv[0])
	}
}

// testLintian runs lintian on the .deb: warnings are logged, an error
// fails.
func testLintian(t *testing.T, p *deb) {
	need(t, "lintian")
	out, err := runErr(nil, "lintian", "--fail-on", "error", p.path)
	var errs, warnings []string
	for _, line := range strings.Split(out, "\n") {
		switch {
		case strings.HasPrefix(line, "E: "):
			errs = append(errs, line)
		case strings.HasPrefix(line, "W: "):
			warnings = append(warnings, line)
		}
	}
	if len(errs) > 0 || err != nil {
		t.Fatalf("lintian %s: %v; errors:\n%s\nall output:\n%s", filepath.Base(p.path), err, strings.Join(errs, "\n"), out)
	}
	t.Logf("lintian: no error, %d warnings:\n%s", len(warnings), strings.Join(warnings, "\n"))
}

// testVerify runs systemd-analyze verify on a copy of the unit whose
// ExecStart names the packaged pykvd where dpkg-deb -x put it: verify
// checks that the command exists, and --root would look for the units
// the service depends on (sysinit.target) in the scratch tree too, which
// has none. The rest of the unit is byte for byte the package's. Any
// message fails the test: verify exits 0 on an unknown key and only says
// so, which the control below shows.
func testVerify(t *testing.T, p *deb) {
	need(t, "systemd-analyze")
	dir := t.TempDir()
	verify := func(name, text string) (string, error) {
		path := filepath.Join(dir, name)
		if err := os.WriteFile(path, []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
		return runErr(nil, "systemd-analyze", "verify", "--man=no", path)
	}
	if out, err := verify("control-good.service", "[Service]\nExecStart=/bin/true\n"); err != nil || out != "" {
		t.Skipf("systemd-analyze verify cannot check even a trivial unit here (%v): %s", err, out)
	}
	text, err := os.ReadFile(filepath.Join(p.tree, p.unit))
	if err != nil {
		t.Fatal(err)
	}
	argv := parseUnit(t, filepath.Join(p.tree, p.unit)).execStart(t)
	rewritten := strings.Replace(string(text), "ExecStart="+argv[0]+" ", "ExecStart="+filepath.Join(p.tree, argv[0])+" ", 1)
	if rewritten == string(text) {
		t.Fatalf("could not rewrite ExecStart=%s in the unit", argv[0])
	}
	if out, err := verify("pykvd.service", rewritten); err != nil || out != "" {
		t.Errorf("systemd-analyze verify pykvd.service: %v\n%s", err, out)
	}
	// The control: the same unit with a key systemd does not know makes
	// verify say so, so a silent verify above means something.
	if out, _ := verify("control-bad.service", rewritten+"\n[Service]\nNoSuchSetting=yes\n"); !strings.Contains(out, "NoSuchSetting") {
		t.Errorf("systemd-analyze verify did not report an unknown key; it printed %q", out)
	}
}

// testInstall installs the package with the real dpkg into a scratch
// root, not into this machine: dpkg --root with its own database, the
// maintainer scripts run without chroot (--force-script-chrootless, which
// sets DPKG_ROOT for them; the postinst passes it to systemd-sysusers and
// systemd-tmpfiles as --root). That is how dpkg installs into another
// root without a shell and libraries inside it, and it exercises dpkg's
// own conffile bookkeeping and the real postinst, where unpacking with
// dpkg-deb -x and imitating the scripts would test the imitation. The
// scratch root starts with this machine's /etc/passwd and /etc/group, so
// the uid sysusers picks for pykv is one this machine would pick and has
// free; the test checks that the host's files are left as they were.
func testInstall(t *testing.T, p *deb) {
	if os.Geteuid() != 0 {
		t.Skip("installing with dpkg --root needs root, to give the files their owners (CI runs as root)")
	}
	need(t, "systemd-sysusers", "systemd-tmpfiles")
	td := t.TempDir()
	root := filepath.Join(td, "root")
	for _, d := range []string{"var/lib/dpkg/info", "var/lib/dpkg/updates", "var/lib/dpkg/triggers", "var/log", "etc"} {
		if err := os.MkdirAll(filepath.Join(root, d), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	for _, f := range []string{"var/lib/dpkg/status", "var/lib/dpkg/available"} {
		if err := os.WriteFile(filepath.Join(root, f), nil, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	hostFiles := map[string][]byte{}
	for _, f := range []string{"/etc/passwd", "/etc/group"} {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		hostFiles[f] = b
		if err := os.WriteFile(filepath.Join(root, f), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	// --force-depends: the scratch database has neither systemd nor libc6;
	// the scripts use this machine's. --log: dpkg.cfg names this machine's
	// /var/log/dpkg.log, which --root does not move.
	dpkgLog := filepath.Join(root, "var/log/dpkg.log")
	dpkg := func(args ...string) string {
		return run(t, nil, "dpkg", append([]string{"--root=" + root, "--log=" + dpkgLog, "--force-script-chrootless", "--force-depends"}, args...)...)
	}
	dpkg("-i", p.path)
	if b, err := os.ReadFile(dpkgLog); err != nil || !strings.Contains(string(b), "status installed pykv") {
		t.Errorf("the scratch root's dpkg.log has no install of pykv (%v):\n%s", err, b)
	}
	for f, b := range hostFiles {
		if now, err := os.ReadFile(f); err != nil || !bytes.Equal(now, b) {
			t.Errorf("installing into the scratch root changed this machine's %s (%v)", f, err)
		}
	}

	// dpkg's database: installed, the conffile recorded with its digest.
	q := run(t, nil, "dpkg-query", "--root="+root, "-W", "-f=${Status}\n${Version}\n${Conffiles}\n", "pykv")
	conf := filepath.Join(root, "etc/pykv/pykv.toml")
	sum := fileMD5(t, conf)
	if lines := strings.Split(q, "\n"); len(lines) < 3 || lines[0] != "install ok installed" || lines[1] != debVersion ||
		strings.Join(strings.Fields(lines[2]), " ") != "/etc/pykv/pykv.toml "+sum {
		t.Errorf("dpkg-query after install:\n%s\nwant install ok installed, %s, /etc/pykv/pykv.toml %s", q, debVersion, sum)
	}
	for name, entry := range p.entries {
		fi, err := os.Lstat(filepath.Join(root, name))
		if err != nil {
			t.Errorf("%s: in the package but not installed: %v", name, err)
		} else if mode := strings.Fields(entry)[0]; fi.Mode().String() != mode && !fi.IsDir() {
			t.Errorf("%s installed with mode %v, the package says %s", name, fi.Mode(), mode)
		}
	}

	// The user sysusers made, in the scratch root only.
	user := sysusersUser(t, p.tree)
	pw := passwdEntry(t, filepath.Join(root, "etc/passwd"), user)
	if pw == nil {
		t.Fatalf("no %s in the scratch root's /etc/passwd after install", user)
	}
	uid, _ := strconv.Atoi(pw[2])
	gid, _ := strconv.Atoi(pw[3])
	if uid <= 0 || uid >= 1000 || pw[5] != "/var/lib/pykv" || !strings.HasSuffix(pw[6], "nologin") {
		t.Errorf("%s's passwd entry is %q, want a system uid (1..999), home /var/lib/pykv, a nologin shell", user, pw)
	}
	if gr := passwdEntry(t, filepath.Join(root, "etc/group"), user); gr == nil || gr[2] != pw[3] {
		t.Errorf("group %s is %q, want gid %s as the user's", user, gr, pw[3])
	}
	if passwdEntry(t, "/etc/passwd", user) != nil {
		t.Logf("this machine has a %s user of its own; the test does not use it", user)
	}
	// The data directory tmpfiles made, and the conffile's group.
	dataDir := filepath.Join(root, tmpfilesDir(t, p.tree))
	checkOwner(t, dataDir, fs.ModeDir|0o750, uid, gid)
	checkOwner(t, conf, 0o640, 0, gid)

	t.Run("Run", func(t *testing.T) { testRun(t, p, td, root, uid, gid) })

	t.Run("RemoveAndPurge", func(t *testing.T) {
		dpkg("-r", "pykv")
		if _, err := os.Stat(filepath.Join(root, "usr/bin/pykvd")); !errors.Is(err, fs.ErrNotExist) {
			t.Errorf("pykvd still there after dpkg -r: %v", err)
		}
		if _, err := os.Stat(conf); err != nil {
			t.Errorf("dpkg -r removed the conffile: %v", err)
		}
		if q := run(t, nil, "dpkg-query", "--root="+root, "-W", "-f=${Status}", "pykv"); q != "deinstall ok config-files" {
			t.Errorf("status after dpkg -r is %q, want deinstall ok config-files", q)
		}
		dpkg("--purge", "pykv")
		if _, err := os.Stat(conf); !errors.Is(err, fs.ErrNotExist) {
			t.Errorf("the conffile is still there after dpkg --purge: %v", err)
		}
		// The data and the user are never the package's to delete.
		checkOwner(t, dataDir, fs.ModeDir|0o750, uid, gid)
		if passwdEntry(t, filepath.Join(root, "etc/passwd"), user) == nil {
			t.Errorf("dpkg --purge removed the %s user", user)
		}
	})
}

// testRun starts the installed pykvd as the installed unit would and as
// far as that can be done where systemd is not PID 1: the unit's own
// ExecStart (each absolute path prefixed with the scratch root, and the
// three listen addresses overridden with free loopback ports by flags,
// the conffile untouched), as the unit's User= and Group= (the uid and
// gid sysusers made: setpriv --reuid --regid --clear-groups), with
// NoNewPrivileges= (--no-new-privs), the empty CapabilityBoundingSet= and
// AmbientCapabilities= (--bounding-set, --inh-caps, --ambient-caps -all),
// UMask=, LimitNOFILE=, WorkingDirectory=, systemd's clean environment
// and NOTIFY_SOCKET for Type=notify. The kernel's view of the process
// (/proc/PID/status, limits, cwd) is checked, not only the command line.
// Directives that need systemd itself (the mount and system-call
// sandboxing) are logged; Verify checks that systemd accepts them.
func testRun(t *testing.T, p *deb, td, root string, uid, gid int) {
	need(t, "setpriv", "sh")
	// The pykv uid must reach the scratch root: t.TempDir makes 0700
	// directories.
	for _, d := range []string{filepath.Dir(td), td} {
		if err := os.Chmod(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	for d := filepath.Dir(filepath.Dir(td)); ; d = filepath.Dir(d) {
		if fi, err := os.Stat(d); err != nil || fi.Mode().Perm()&0o001 == 0 {
			t.Skipf("%s is not traversable by other users (%v): the daemon could not reach the scratch root", d, err)
		}
		if d == "/" {
			break
		}
	}
	unit := parseUnit(t, filepath.Join(root, p.unit))
	if ty := unit.one(t, "Type"); ty != "notify" {
		t.Fatalf("Type=%s: the test knows how to wait for Type=notify only", ty)
	}
	var emulated []string
	setpriv := []string{"setpriv", "--reuid=" + strconv.Itoa(uid), "--regid=" + strconv.Itoa(gid), "--clear-groups", "--pdeathsig=keep"}
	emulated = append(emulated, "User", "Group")
	if unit.one(t, "NoNewPrivileges") == "yes" {
		setpriv = append(setpriv, "--no-new-privs")
		emulated = append(emulated, "NoNewPrivileges")
	}
	if v, ok := unit["CapabilityBoundingSet"]; ok && slices.Equal(v, []string{""}) {
		setpriv = append(setpriv, "--bounding-set=-all")
		emulated = append(emulated, "CapabilityBoundingSet")
	}
	if v, ok := unit["AmbientCapabilities"]; ok && slices.Equal(v, []string{""}) {
		setpriv = append(setpriv, "--inh-caps=-all", "--ambient-caps=-all")
		emulated = append(emulated, "AmbientCapabilities")
	}
	umask, nofile := unit.one(t, "UMask"), unit.one(t, "LimitNOFILE")
	// Raising a hard limit needs CAP_SYS_RESOURCE, which a container may
	// not give even to root: then the test applies this process's hard
	// limit, and says so.
	var lim syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &lim); err != nil {
		t.Fatal(err)
	}
	if want, err := strconv.ParseUint(nofile, 10, 64); err != nil {
		t.Fatalf("LimitNOFILE=%s: %v", nofile, err)
	} else if lim.Max < want {
		t.Logf("LimitNOFILE=%s is above this machine's hard limit %d, which root cannot raise here: applying %d", nofile, lim.Max, lim.Max)
		nofile = strconv.FormatUint(lim.Max, 10)
	}
	workDir := filepath.Join(root, unit.one(t, "WorkingDirectory"))
	stopTimeout, err := time.ParseDuration(unit.one(t, "TimeoutStopSec"))
	if err != nil {
		t.Fatalf("TimeoutStopSec: %v", err)
	}
	emulated = append(emulated, "UMask", "LimitNOFILE", "WorkingDirectory", "TimeoutStopSec", "Type", "ExecStart")
	// ProtectSystem=strict, ReadWritePaths= and ProtectHome=yes in a mount
	// namespace of the daemon's own (unshare), where root can make mounts
	// read-only without touching this machine's.
	var sandbox []string
	var rwPaths []string
	if unit.one(t, "ProtectSystem") == "strict" && unit.one(t, "ProtectHome") == "yes" {
		if out, err := runErr(nil, "unshare", "--mount", "--propagation=private", "true"); err != nil {
			t.Logf("unshare --mount does not work here (%v: %s): ProtectSystem=, ReadWritePaths= and ProtectHome= left to systemd", err, out)
		} else {
			for _, rw := range unit["ReadWritePaths"] {
				rwPaths = append(rwPaths, filepath.Join(root, rw))
			}
			sandbox = append([]string{"unshare", "--mount", "--propagation=private", "sh", "-c", mountSandbox, "sh"}, rwPaths...)
			sandbox = append(sandbox, "--")
			emulated = append(emulated, "ProtectSystem", "ReadWritePaths", "ProtectHome")
		}
	}
	var skipped []string
	for k := range unit {
		if !slices.Contains(emulated, k) {
			skipped = append(skipped, k)
		}
	}
	slices.Sort(skipped)
	t.Logf("applied from the unit: %v; left to systemd (checked by Verify only): %v", emulated, skipped)

	argv := unit.execStart(t)
	for i, a := range argv {
		if strings.HasPrefix(a, "/") {
			argv[i] = filepath.Join(root, a)
		}
	}
	pw := passwdEntry(t, filepath.Join(root, "etc/passwd"), unit.one(t, "User"))

	notifyDir := filepath.Join(td, "notify")
	if err := os.Mkdir(notifyDir, 0o755); err != nil {
		t.Fatal(err)
	}
	sock := filepath.Join(notifyDir, "sock")
	ln, err := net.ListenUnixgram("unixgram", &net.UnixAddr{Name: sock, Net: "unixgram"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	if err := os.Chmod(sock, 0o666); err != nil { // connecting needs write permission
		t.Fatal(err)
	}
	notes := make(chan string, 16)
	go func() {
		buf := make([]byte, 4096)
		for {
			n, err := ln.Read(buf)
			if err != nil {
				close(notes)
				return
			}
			notes <- string(buf[:n])
		}
	}()

	var d *daemon
	for attempt := 0; ; attempt++ {
		ports := freePorts(t, 3)
		args := append(slices.Clone(argv),
			"--native-addr=127.0.0.1:"+strconv.Itoa(ports[0]),
			"--resp-addr=127.0.0.1:"+strconv.Itoa(ports[1]),
			"--http-addr=127.0.0.1:"+strconv.Itoa(ports[2]))
		cmdline := append(slices.Clone(sandbox), "sh", "-c", `umask "$1" && ulimit -n "$2" && shift 2 && exec "$@"`, "sh", umask, nofile)
		cmdline = append(append(append(cmdline, setpriv...), "--"), args...)
		cmd := exec.Command(cmdline[0], cmdline[1:]...)
		cmd.Dir = workDir
		// systemd's environment for a service with User= (systemd.exec(5),
		// "Environment Variables in Spawned Processes"), paths under the
		// scratch root.
		cmd.Env = []string{
			"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
			"USER=" + pw[0], "LOGNAME=" + pw[0], "HOME=" + filepath.Join(root, pw[5]), "SHELL=" + pw[6],
			"NOTIFY_SOCKET=" + sock,
		}
		cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
		d = &daemon{cmd: cmd, resp: "127.0.0.1:" + strconv.Itoa(ports[1]), exited: make(chan struct{})}
		cmd.Stdout, cmd.Stderr = &d.log, &d.log
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		go func() { d.err = cmd.Wait(); close(d.exited) }()
		t.Cleanup(d.kill)
		if waitNote(t, notes, d, "READY=1") {
			break
		}
		<-d.exited
		if !strings.Contains(d.log.String(), "address already in use") || attempt == 2 {
			t.Fatalf("pykvd exited before READY=1 (%v):\n%s", d.err, d.log.String())
		}
	}

	// What the kernel says about the process that serves.
	pid := d.cmd.Process.Pid
	status := procFile(t, pid, "status")
	ids := fmt.Sprintf("%d\t%d\t%d\t%d", uid, uid, uid, uid)
	gids := fmt.Sprintf("%d\t%d\t%d\t%d", gid, gid, gid, gid)
	for key, want := range map[string]string{
		"Uid": ids, "Gid": gids, "Groups": "", "NoNewPrivs": "1",
		"CapInh": "0000000000000000", "CapPrm": "0000000000000000", "CapEff": "0000000000000000",
		"CapBnd": "0000000000000000", "CapAmb": "0000000000000000",
	} {
		if got := status[key]; got != want {
			t.Errorf("/proc/%d/status %s: %q, want %q", pid, key, got, want)
		}
	}
	if lim := procLimit(t, pid, "Max open files"); lim != nofile+" "+nofile {
		t.Errorf("the daemon's open-file limit is %q, want LimitNOFILE=%s", lim, nofile)
	}
	if cwd, err := os.Readlink(fmt.Sprintf("/proc/%d/cwd", pid)); err != nil || cwd != workDir {
		t.Errorf("the daemon's working directory is %q (%v), want %s", cwd, err, workDir)
	}
	if sandbox != nil {
		mounts := procMounts(t, pid)
		if o := mounts["/"]; !slices.Contains(o, "ro") {
			t.Errorf("the daemon's / is mounted %v, want ro (ProtectSystem=strict)", o)
		}
		for _, rw := range rwPaths {
			if o := mounts[rw]; !slices.Contains(o, "rw") {
				t.Errorf("the daemon's %s is mounted %v, want rw (ReadWritePaths=)", rw, o)
			}
		}
		if _, err := os.Stat("/root"); err == nil && !slices.Contains(mounts["/root"], "ro") {
			t.Errorf("the daemon's /root is mounted %v, want an empty read-only tmpfs (ProtectHome=yes)", mounts["/root"])
		}
	}

	// It serves on loopback, and writes.
	c, err := net.DialTimeout("tcp", d.resp, readyTimeout)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(readyTimeout))
	if _, err := c.Write([]byte("*1\r\n$4\r\nPING\r\n*3\r\n$3\r\nSET\r\n$3\r\ndeb\r\n$9\r\ninstalled\r\n*2\r\n$3\r\nGET\r\n$3\r\ndeb\r\n")); err != nil {
		t.Fatal(err)
	}
	r := bufio.NewReader(c)
	for _, want := range []string{"+PONG\r\n", "+OK\r\n", "$9\r\n", "installed\r\n"} {
		if line, err := r.ReadString('\n'); err != nil || line != want {
			t.Fatalf("RESP reply %q (%v), want %q\nlog:\n%s", line, err, want, d.log.String())
		}
	}

	// SIGTERM: STOPPING=1, then exit 0 within the unit's TimeoutStopSec.
	if err := d.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	if !waitNote(t, notes, d, "STOPPING=1") {
		t.Errorf("no STOPPING=1 before the daemon exited")
	}
	select {
	case <-d.exited:
	case <-time.After(stopTimeout):
		t.Fatalf("no exit %v after SIGTERM (the unit's TimeoutStopSec)\n%s", stopTimeout, d.log.String())
	}
	if d.err != nil {
		t.Fatalf("pykvd after SIGTERM: %v, want exit 0\n%s", d.err, d.log.String())
	}

	// What it wrote is the pykv user's, closed to others by UMask=.
	n := 0
	err = filepath.WalkDir(workDir, func(path string, e fs.DirEntry, err error) error {
		if err != nil || path == workDir {
			return err
		}
		n++
		fi, err := e.Info()
		if err != nil {
			return err
		}
		st := fi.Sys().(*syscall.Stat_t)
		if int(st.Uid) != uid || int(st.Gid) != gid || fi.Mode().Perm()&0o027 != 0 {
			t.Errorf("%s: %v %d:%d, want the pykv user's (%d:%d) and nothing for others (UMask=%s)", path, fi.Mode(), st.Uid, st.Gid, uid, gid, umask)
		}
		return nil
	})
	if err != nil || n == 0 {
		t.Errorf("the data directory holds %d entries (%v), want the daemon's files", n, err)
	}
}

// mountSandbox is the shell script, run by unshare in the daemon's own
// mount namespace, that imitates the unit's ProtectSystem=strict (every
// mount read-only but the API file systems /proc, /sys and /dev),
// ReadWritePaths= (its arguments, bound on themselves before, so that they
// stay writable) and ProtectHome=yes (/home, /root and /run/user hidden
// under empty read-only tmpfs). Stricter than systemd in one way: without
// PrivateTmp='s own /tmp, /tmp is read-only too. Its arguments are the
// writable paths, "--", then the command it runs.
const mountSandbox = `set -e
while [ "$1" != -- ]; do mount --bind "$1" "$1"; rw="$rw $1"; shift; done
shift
for m in $(awk '{print $5}' /proc/self/mountinfo); do
  case " $m $rw " in
    " /proc "*|" /proc/"*|" /sys "*|" /sys/"*|" /dev "*|" /dev/"*) ;;
    *" $m "*" $m "*) ;;
    *) mount -o remount,bind,ro "$m" ;;
  esac
done
for h in /home /root /run/user; do
  if [ -d "$h" ]; then mount -t tmpfs -o ro,mode=000 tmpfs "$h"; fi
done
exec "$@"`

// procMounts returns the mount points of the process's mount namespace
// and each one's per-mount options (/proc/PID/mountinfo), the last mount
// on a point winning.
func procMounts(t *testing.T, pid int) map[string][]string {
	t.Helper()
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/mountinfo", pid))
	if err != nil {
		t.Fatal(err)
	}
	m := map[string][]string{}
	for _, line := range strings.Split(string(b), "\n") {
		if f := strings.Fields(line); len(f) >= 6 {
			m[f[4]] = strings.Split(f[5], ",")
		}
	}
	return m
}

// daemon is the pykvd testRun started.
type daemon struct {
	cmd    *exec.Cmd
	resp   string
	log    syncBuffer
	exited chan struct{}
	err    error // cmd.Wait's, once exited is closed
}

// kill ends the daemon if it still runs, by its PID, and waits for it.
func (d *daemon) kill() {
	select {
	case <-d.exited:
		return
	default:
	}
	_ = d.cmd.Process.Kill()
	<-d.exited
}

// waitNote waits for a notification containing want on notes, and
// reports false when the daemon exits first.
func waitNote(t *testing.T, notes <-chan string, d *daemon, want string) bool {
	t.Helper()
	timeout := time.After(readyTimeout)
	for {
		select {
		case n, ok := <-notes:
			if !ok {
				t.Fatal("the notify socket was closed")
			}
			if slices.Contains(strings.Split(n, "\n"), want) {
				return true
			}
		case <-d.exited:
			return false
		case <-timeout:
			t.Fatalf("no %s on NOTIFY_SOCKET within %v\nlog:\n%s", want, readyTimeout, d.log.String())
		}
	}
}

// unitFile holds a unit's [Service] settings: key → values in order. An
// empty assignment is kept as "" (it resets a list, or sets it empty).
type unitFile map[string][]string

// parseUnit reads the [Service] section of a unit file.
func parseUnit(t *testing.T, path string) unitFile {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	u := unitFile{}
	section := ""
	for _, line := range strings.Split(string(b), "\n") {
		line = strings.TrimSpace(line)
		switch {
		case line == "" || strings.HasPrefix(line, "#") || strings.HasPrefix(line, ";"):
		case strings.HasPrefix(line, "["):
			section = strings.Trim(line, "[]")
		case section == "Service":
			k, v, ok := strings.Cut(line, "=")
			if !ok || strings.HasSuffix(line, `\`) {
				t.Fatalf("%s: the test's reader does not handle %q", path, line)
			}
			u[strings.TrimSpace(k)] = append(u[strings.TrimSpace(k)], strings.TrimSpace(v))
		}
	}
	return u
}

// one returns the single value of key, failing t when there is not
// exactly one.
func (u unitFile) one(t *testing.T, key string) string {
	t.Helper()
	if len(u[key]) != 1 {
		t.Fatalf("the unit has %d %s= lines, want 1", len(u[key]), key)
	}
	return u[key][0]
}

// execStart returns ExecStart's command line. Only plain words are
// read: quoting, specifiers, variables and prefixes fail the test, which
// would then need teaching.
func (u unitFile) execStart(t *testing.T) []string {
	t.Helper()
	line := u.one(t, "ExecStart")
	if strings.ContainsAny(line, `"'%$\`) || strings.ContainsAny(line[:1], "-@:+!") {
		t.Fatalf("ExecStart=%s: the test reads plain words only", line)
	}
	argv := strings.Fields(line)
	if len(argv) == 0 || !filepath.IsAbs(argv[0]) {
		t.Fatalf("ExecStart=%s: want an absolute command", line)
	}
	return argv
}

// sysusersUser returns the user the package's sysusers.d entry makes.
func sysusersUser(t *testing.T, tree string) string {
	t.Helper()
	for _, f := range confLines(t, filepath.Join(tree, "usr/lib/sysusers.d/pykv.conf")) {
		if f[0] == "u" && len(f) > 1 {
			return f[1]
		}
	}
	t.Fatal("the sysusers.d entry makes no user")
	return ""
}

// tmpfilesDir returns the directory the package's tmpfiles.d entry makes.
func tmpfilesDir(t *testing.T, tree string) string {
	t.Helper()
	for _, f := range confLines(t, filepath.Join(tree, "usr/lib/tmpfiles.d/pykv.conf")) {
		if f[0] == "d" && len(f) > 1 {
			return f[1]
		}
	}
	t.Fatal("the tmpfiles.d entry makes no directory")
	return ""
}

// confLines returns the fields of a sysusers.d or tmpfiles.d file's lines
// that are not comments.
func confLines(t *testing.T, path string) [][]string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var out [][]string
	for _, line := range strings.Split(string(b), "\n") {
		if f := strings.Fields(line); len(f) > 0 && !strings.HasPrefix(f[0], "#") {
			out = append(out, f)
		}
	}
	return out
}

// passwdEntry returns the fields of name's line of a passwd or group
// file, or nil.
func passwdEntry(t *testing.T, path, name string) []string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	for _, line := range strings.Split(string(b), "\n") {
		if f := strings.Split(line, ":"); f[0] == name && len(f) >= 3 {
			return f
		}
	}
	return nil
}

// checkOwner fails t unless path has mode and owner uid:gid.
func checkOwner(t *testing.T, path string, mode fs.FileMode, uid, gid int) {
	t.Helper()
	fi, err := os.Stat(path)
	if err != nil {
		t.Error(err)
		return
	}
	st := fi.Sys().(*syscall.Stat_t)
	if fi.Mode() != mode || int(st.Uid) != uid || int(st.Gid) != gid {
		t.Errorf("%s is %v %d:%d, want %v %d:%d", path, fi.Mode(), st.Uid, st.Gid, mode, uid, gid)
	}
}

// controlFields reads a control file's fields (continuation lines
// ignored).
func controlFields(t *testing.T, path string) map[string]string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	m := map[string]string{}
	for _, line := range strings.Split(string(b), "\n") {
		if k, v, ok := strings.Cut(line, ":"); ok && !strings.HasPrefix(line, " ") {
			m[k] = strings.TrimSpace(v)
		}
	}
	return m
}

func fileMD5(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	sum := md5.Sum(b) // dpkg's conffile digest
	return hex.EncodeToString(sum[:])
}

// elfLibraries returns the shared libraries an executable needs.
func elfLibraries(path string) ([]string, error) {
	f, err := elf.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return f.ImportedLibraries()
}

// procFile reads /proc/PID/NAME's "Key:\tvalue" lines.
func procFile(t *testing.T, pid int, name string) map[string]string {
	t.Helper()
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/%s", pid, name))
	if err != nil {
		t.Fatal(err)
	}
	m := map[string]string{}
	for _, line := range strings.Split(string(b), "\n") {
		if k, v, ok := strings.Cut(line, ":"); ok {
			m[k] = strings.TrimSpace(v)
		}
	}
	return m
}

// procLimit returns the soft and hard value of one line of
// /proc/PID/limits, "65536 65536".
func procLimit(t *testing.T, pid int, name string) string {
	t.Helper()
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/limits", pid))
	if err != nil {
		t.Fatal(err)
	}
	for _, line := range strings.Split(string(b), "\n") {
		if rest, ok := strings.CutPrefix(line, name); ok {
			if f := strings.Fields(rest); len(f) >= 2 {
				return f[0] + " " + f[1]
			}
		}
	}
	t.Fatalf("/proc/%d/limits has no %q line", pid, name)
	return ""
}

// freePorts returns n loopback ports that were free a moment ago; the
// caller retries when one was taken before the daemon bound it.
func freePorts(t *testing.T, n int) []int {
	t.Helper()
	var ports []int
	for range n {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		defer ln.Close() // held until all are picked, so they differ
		ports = append(ports, ln.Addr().(*net.TCPAddr).Port)
	}
	return ports
}

// syncBuffer is a bytes.Buffer safe for the daemon's output and the
// test's reads at once.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.String()
}
