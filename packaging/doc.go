// Package packaging holds no code: the .deb is built by build-deb.sh
// beside this file, from the systemd unit (pykvd.service), the sysusers.d
// and tmpfiles.d entries (pykv.sysusers, pykv.tmpfiles) and the
// repository's pykv.toml. Its test (deb_test.go) builds the package,
// checks what it holds, lints it with lintian, installs it with dpkg into
// a scratch root, starts the installed pykvd the way the installed unit
// says, and verifies the unit with systemd-analyze; docs/operations.md,
// "Installing the .deb", says what it installs.
package packaging
