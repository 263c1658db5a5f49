#!/bin/sh
# SPDX-License-Identifier: MIT
# Assemble an OpenWrt .ipk from a cross build, without the SDK: `make ipk
# ARCH=mipsel_24kc` calls it. The layout is what the feed Makefile
# (packaging/openwrt/khien/Makefile) installs; the binaries come from
# Debian's glibc cross toolchain, not OpenWrt's musl, so the package is
# for inspection and emulation tests, not for flashing.
#   scripts/mkipk.sh OPENWRT_ARCH BUILD_DIR OUT_DIR
# The archive is ar(1) with debian-binary, control.tar.gz, data.tar.gz in
# that order, as opkg reads it; members are owned by root, mtimes fixed.
set -eu
arch=$1 build=$2 out=$3
top=$(cd "$(dirname "$0")/.." && pwd)
pkg=$top/packaging/openwrt/khien
version=$(sed -n 's/^#define KHIEN_VERSION "\(.*\)"/\1/p' "$top/lib/version.h")
release=$(sed -n 's/^PKG_RELEASE:=//p' "$pkg/Makefile")
stage=$(mktemp -d "${TMPDIR:-/tmp}/khien-ipk.XXXXXX")
trap 'rm -rf "$stage"' EXIT
d=$stage/data c=$stage/control

install -d -m 755 "$d/usr/sbin" "$d/usr/bin" "$d/etc/init.d" "$d/etc/config" "$d/etc/khien" \
	"$d/lib/upgrade/keep.d" "$d/usr/share/nftables.d/chain-pre/dstnat_lan" \
	"$d/usr/share/nftables.d/chain-pre/forward_lan" "$c"
install -m 755 "$build/khiend" "$d/usr/sbin/khiend"
install -m 755 "$build/khienctl" "$d/usr/bin/khienctl"
install -m 755 "$pkg/files/khien.init" "$d/etc/init.d/khien"
install -m 600 "$pkg/files/khien.config" "$d/etc/config/khien"
install -m 644 "$pkg/files/khien.keep" "$d/lib/upgrade/keep.d/khien"
install -m 644 "$pkg/files/khien.upgrade" "$d/lib/upgrade/zz-khien.sh"
install -m 644 "$pkg/files/khien-dns.nft" "$d/usr/share/nftables.d/chain-pre/dstnat_lan/30-khien-dns.nft"
install -m 644 "$pkg/files/khien-dot.nft" "$d/usr/share/nftables.d/chain-pre/forward_lan/30-khien-dot.nft"
chmod 700 "$d/etc/khien" # device key and trust state

# control: the feed Makefile's define blocks, as the SDK would write them
size=$(du -sk "$d" | cut -f1)
cat >"$c/control" <<CTRL
Package: khien
Version: $version-$release
Depends: libc, libmbedtls12, cJSON
Source: packaging/openwrt/khien
SourceName: khien
License: MIT
Section: net
SourceDateEpoch: 0
Maintainer: Khien maintainers <khien@example.net>
Architecture: $arch
Installed-Size: $((size * 1024))
Description:  The Khien agent for ISP-supplied routers: a DNS filter answering from a
 signed, compiled blocklist index, configuration audit, file integrity and
 firmware verification, with events reported to the ISP over mutual TLS.
 (Built with Debian's glibc cross toolchain: for inspection and emulation.)
CTRL
sed -n '/^define Package\/khien\/conffiles/,/^endef/p' "$pkg/Makefile" | sed '1d;$d' >"$c/conffiles"
for s in postinst prerm; do
	sed -n "/^define Package\/khien\/$s/,/^endef/p" "$pkg/Makefile" | sed '1d;$d' |
		sed 's/\$\$/$/g' >"$c/$s"
	chmod 755 "$c/$s"
done
echo "2.0" >"$stage/debian-binary"

tarit() { # DIR OUT
	tar --sort=name --owner=0 --group=0 --numeric-owner --mtime=@0 -C "$1" -cf - . |
		gzip -n9 >"$2"
}
tarit "$c" "$stage/control.tar.gz"
tarit "$d" "$stage/data.tar.gz"
mkdir -p "$out"
out=$(cd "$out" && pwd)
ipk=$out/khien_${version}-${release}_$arch.ipk
rm -f "$ipk"
(cd "$stage" && ar -rcD "$ipk.tmp" debian-binary control.tar.gz data.tar.gz)
mv "$ipk.tmp" "$ipk"
echo "$ipk"
