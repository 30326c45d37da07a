#!/usr/bin/env bash
# Builds dist/pykv_<version>_<arch>.deb from ./bin with dpkg-deb only: the
# binaries, the systemd unit, sysusers/tmpfiles entries and the documented
# default configuration.
set -euo pipefail
cd "$(dirname "$0")/.."
version="${1:-0.0.0}"
version="${version#v}"
[[ "$version" =~ ^[0-9] ]] || version="0.0.0+${version}"
arch="$(dpkg --print-architecture 2>/dev/null || echo amd64)"
root="$(mktemp -d)"
chmod 0755 "$root"
trap 'rm -rf "$root"' EXIT

install -d "$root/DEBIAN" "$root/usr/bin" "$root/etc/pykv" "$root/lib/systemd/system" \
  "$root/usr/lib/sysusers.d" "$root/usr/lib/tmpfiles.d" "$root/usr/share/doc/pykv"
for b in pykvd pykv-cli pykv-bench pykv-check pykv-compact; do
  install -m 0755 "bin/$b" "$root/usr/bin/$b"
done
# Served from /var/lib/pykv by the unit; the file keeps its documented defaults.
install -m 0640 pykv.toml "$root/etc/pykv/pykv.toml"
install -m 0644 packaging/pykvd.service "$root/lib/systemd/system/pykvd.service"
install -m 0644 packaging/pykv.sysusers "$root/usr/lib/sysusers.d/pykv.conf"
install -m 0644 packaging/pykv.tmpfiles "$root/usr/lib/tmpfiles.d/pykv.conf"
install -m 0644 README.md docs/*.md "$root/usr/share/doc/pykv/"
install -m 0644 packaging/pykvd.socket "$root/usr/share/doc/pykv/pykvd.socket.example"

cat > "$root/DEBIAN/control" <<CONTROL
Package: pykv
Version: $version
Architecture: $arch
Maintainer: pykv maintainers <pykv@localhost>
Section: database
Priority: optional
Depends: systemd
Description: durable key-value daemon speaking a binary protocol and RESP
 pykvd logs every write to a checksummed append-only log before answering,
 merges it into mmap'ed snapshots, and serves Redis clients on its RESP port.
CONTROL
echo /etc/pykv/pykv.toml > "$root/DEBIAN/conffiles"
cat > "$root/DEBIAN/postinst" <<'POSTINST'
#!/bin/sh
set -e
if [ "$1" = configure ]; then
  systemd-sysusers pykv.conf >/dev/null 2>&1 || true
  systemd-tmpfiles --create pykv.conf >/dev/null 2>&1 || true
  chgrp pykv /etc/pykv/pykv.toml 2>/dev/null || true
  systemctl daemon-reload >/dev/null 2>&1 || true
fi
POSTINST
cat > "$root/DEBIAN/prerm" <<'PRERM'
#!/bin/sh
set -e
if [ "$1" = remove ]; then
  systemctl stop pykvd >/dev/null 2>&1 || true
fi
PRERM
chmod 0755 "$root/DEBIAN/postinst" "$root/DEBIAN/prerm"
mkdir -p dist
out="dist/pykv_${version}_${arch}.deb"
dpkg-deb --root-owner-group --build "$root" "$out" >/dev/null
echo "$out"
