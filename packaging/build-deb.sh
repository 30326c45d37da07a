#!/usr/bin/env bash
# Builds dist/pykv_<version>_<arch>.deb from ./bin with dpkg-deb only: the
# binaries, the systemd unit, sysusers/tmpfiles entries and the documented
# default configuration. BIN_DIR and DIST_DIR (absolute, or relative to the
# repository) override ./bin and ./dist: packaging/deb_test.go builds the
# binaries and the package in its own temporary directory, installs it into
# a scratch root and runs lintian on it.
set -euo pipefail
cd "$(dirname "$0")/.."
bin_dir="${BIN_DIR:-bin}"
dist_dir="${DIST_DIR:-dist}"
version="${1:-0.0.0}"
version="${version#v}"
[[ "$version" =~ ^[0-9] ]] || version="0.0.0+${version}"
arch="$(dpkg --print-architecture 2>/dev/null || echo amd64)"
# .invalid (RFC 2606): the project has no mail address of its own yet.
maintainer="${MAINTAINER:-pykv maintainers <pykv@pykv.invalid>}"
root="$(mktemp -d)"
chmod 0755 "$root"
trap 'rm -rf "$root"' EXIT

install -d "$root/DEBIAN" "$root/usr/bin" "$root/etc/pykv" "$root/lib/systemd/system" \
  "$root/usr/lib/sysusers.d" "$root/usr/lib/tmpfiles.d" "$root/usr/share/doc/pykv"
# Stripped (install -s): Debian ships binaries without their symbol
# tables; Go's own tables for stack traces stay.
for b in pykvd pykv-cli pykv-bench pykv-check pykv-compact; do
  install -m 0755 -s "$bin_dir/$b" "$root/usr/bin/$b"
done
# Served from /var/lib/pykv by the unit; the file keeps its documented
# defaults. 0640 root:pykv (postinst sets the group): it may hold the
# password.
install -m 0640 pykv.toml "$root/etc/pykv/pykv.toml"
install -m 0644 packaging/pykvd.service "$root/lib/systemd/system/pykvd.service"
install -m 0644 packaging/pykv.sysusers "$root/usr/lib/sysusers.d/pykv.conf"
install -m 0644 packaging/pykv.tmpfiles "$root/usr/lib/tmpfiles.d/pykv.conf"
install -m 0644 README.md docs/*.md "$root/usr/share/doc/pykv/"
install -m 0644 packaging/pykvd.socket "$root/usr/share/doc/pykv/pykvd.socket.example"
install -m 0644 packaging/copyright "$root/usr/share/doc/pykv/copyright"
# A native package's changelog (Debian Policy 12.7), dated by the last
# commit when there is one so that two builds of a commit are alike.
date="$(git log -1 --format=%cD 2>/dev/null || date -R)"
printf 'pykv (%s) unstable; urgency=medium\n\n  * Built from the pykv repository (%s).\n\n -- %s  %s\n' \
  "$version" "$(git describe --tags --always --dirty 2>/dev/null || echo "no git")" "$maintainer" "$date" \
  | gzip -9n > "$root/usr/share/doc/pykv/changelog.gz"
chmod 0644 "$root/usr/share/doc/pykv/changelog.gz"

# A pykvd built with cgo (Go's default when a C compiler is there) links
# libc: dpkg-shlibdeps names the version its symbols need. A static build
# (CGO_ENABLED=0) needs nothing.
depends=systemd
if command -v dpkg-shlibdeps >/dev/null; then
  shlibs="$(mkdir -p "$root.shlibs/debian" && cd "$root.shlibs" && touch debian/control &&
    dpkg-shlibdeps -O -e"$root/usr/bin/pykvd" 2>/dev/null | sed -n 's/^shlibs:Depends=//p')"
  rm -rf "$root.shlibs"
  [ -n "$shlibs" ] && depends="$shlibs, $depends"
elif readelf -d "$root/usr/bin/pykvd" 2>/dev/null | grep -q 'NEEDED.*libc\.so'; then
  echo "build-deb.sh: dpkg-shlibdeps (dpkg-dev) missing: Depends names libc6 without a version" >&2
  depends="libc6, $depends"
fi

cat > "$root/DEBIAN/control" <<CONTROL
Package: pykv
Version: $version
Architecture: $arch
Maintainer: $maintainer
Installed-Size: $(du -sk --exclude=DEBIAN "$root" | cut -f1)
Section: database
Priority: optional
Depends: $depends
Description: durable key-value daemon speaking a binary protocol and RESP
 pykvd logs every write to a checksummed append-only log before answering,
 merges it into mmap'ed snapshots, and serves Redis clients on its RESP port.
CONTROL
echo /etc/pykv/pykv.toml > "$root/DEBIAN/conffiles"
# The maintainer scripts honour DPKG_ROOT (dpkg --root with
# --force-script-chrootless), so that an install into another root makes
# the user and the directory there.
cat > "$root/DEBIAN/postinst" <<'POSTINST'
#!/bin/sh
set -e
if [ "$1" = configure ]; then
  root="${DPKG_ROOT:-}"
  systemd-sysusers ${root:+--root="$root"} pykv.conf
  systemd-tmpfiles ${root:+--root="$root"} --create pykv.conf
  # On the first install only: an administrator's later choice stays.
  if [ -z "$2" ]; then
    gid="$(sed -n 's/^pykv:[^:]*:\([0-9][0-9]*\):.*/\1/p' "$root/etc/group")"
    if [ -n "$gid" ]; then
      chgrp "$gid" "$root/etc/pykv/pykv.toml"
    fi
  fi
  if [ -z "$root" ] && [ -d /run/systemd/system ]; then
    systemctl daemon-reload
  fi
fi
POSTINST
cat > "$root/DEBIAN/prerm" <<'PRERM'
#!/bin/sh
set -e
if [ "$1" = remove ] && [ -z "${DPKG_ROOT:-}" ] && [ -d /run/systemd/system ]; then
  systemctl stop pykvd.service || true
fi
PRERM
chmod 0755 "$root/DEBIAN/postinst" "$root/DEBIAN/prerm"
mkdir -p "$dist_dir"
out="$dist_dir/pykv_${version}_${arch}.deb"
dpkg-deb --root-owner-group --build "$root" "$out" >/dev/null
echo "$out"
