#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# The OpenWrt package as `make ipk ARCH=mipsel_24kc` assembles it: the ar
# members opkg reads, the file list, owners and modes, the control fields,
# the cross-built binaries (MIPS, stripped, running under qemu-user with
# the packaged UCI file), the init script (sh -n, shellcheck, and its
# UCI-to-procd logic run against a stand-in for OpenWrt's functions.sh and
# procd.sh), and the sysupgrade hook refusing unsigned, refused and
# target-broken images with no -F bypass.
. "$(dirname "$0")/lib.sh"
PKG=$KHIEN_TOP/packaging/openwrt/khien
VERSION=$(sed -n 's/^#define KHIEN_VERSION "\(.*\)"/\1/p' "$KHIEN_TOP/lib/version.h")
IPK=${KHIEN_IPK:-$KHIEN_TOP/build/ipk/khien_${VERSION}-1_mipsel_24kc.ipk}

# ---- the init script and the upgrade hook: no cross build needed
for f in files/khien.init files/khien.upgrade; do
	sh -n "$PKG/$f" && ok "sh -n $f" || fail "sh -n $f"
	if command -v shellcheck >/dev/null; then
		shellcheck "$PKG/$f" >"$T/sc" 2>&1 && ok "shellcheck $f" || { fail "shellcheck $f"; sed 's/^/#  /' "$T/sc"; }
	else skip "shellcheck $f" "shellcheck not installed"; fi
done

# A stand-in for /lib/functions.sh (config_load, config_get, config_get_bool
# over the UCI file, as shell variables the way the real one keeps them)
# and procd.sh (every call recorded in $T/procd.log).
cat >"$T/openwrt-functions.sh" <<'SH'
config_load() {
	eval "$(awk -v q="'" '
		$1 == "config" { s = $3; gsub(q, "", s); if (s == "") s = "anon" NR; next }
		$1 == "option" { v = $0; sub(/^[ \t]*option[ \t]+[^ \t]+[ \t]+/, "", v); gsub(q, "", v)
			sub(/[ \t]+#.*$/, "", v); printf "CONFIG_%s_%s=%s%s%s\n", s, $2, q, v, q }
	' "$CONF")"
}
config_get() { # VAR SECTION OPTION [DEFAULT]
	eval "_v=\${CONFIG_$2_$3-}"
	[ -n "$_v" ] || _v=${4-}
	eval "$1=\$_v"
}
config_get_bool() {
	config_get "$@"
	eval "_v=\$$1"
	case "$_v" in 1|on|true|yes|enabled) _v=1 ;; *) _v=0 ;; esac
	eval "$1=$_v"
}
procd_open_instance() { echo "open $*" >>"$PROCD_LOG"; }
procd_set_param() { echo "param $*" >>"$PROCD_LOG"; }
procd_close_instance() { echo "close" >>"$PROCD_LOG"; }
procd_add_reload_trigger() { echo "reload-trigger $*" >>"$PROCD_LOG"; }
logger() { echo "logger $*" >>"$PROCD_LOG"; }
SH
# run_init CONF: source the init script as rc.common would and start it
run_init() {
	PROCD_LOG=$T/procd.log
	: >"$PROCD_LOG"
	# shellcheck disable=SC2016
	CONF=$1 PROCD_LOG=$PROCD_LOG KHIEND=$KHIEN_BUILD/khiend sh -c '
		. "$0"
		. "$1"
		PROG=$KHIEND   # after the script set its own: the host build does the check
		CONF=$2
		start_service; echo "rc $?" >>"$PROCD_LOG"
		service_triggers' "$T/openwrt-functions.sh" "$PKG/files/khien.init" "$1"
}
sed -e "s|/etc/khien/state|$T/st|" -e "s|/var/run/khien/|$T/run/|" "$PKG/files/khien.config" >"$T/khien"
run_init "$T/khien"
grep -qxF "open khiend" "$T/procd.log" && grep -qxF "close" "$T/procd.log" &&
	ok "enabled: one procd instance" || { fail "procd instance"; sed 's/^/#  /' "$T/procd.log"; }
grep -qxF "param command $KHIEN_BUILD/khiend --foreground --uci $T/khien" "$T/procd.log" &&
	ok "instance runs khiend --foreground --uci FILE" || { fail "instance command"; sed 's/^/#  /' "$T/procd.log"; }
grep -qxF "param respawn 3600 5 5" "$T/procd.log" && ok "respawn" || fail "respawn"
grep -qxF "param file $T/khien" "$T/procd.log" && ok "procd_set_param file: the UCI file" || fail "procd file"
grep -qxF "reload-trigger khien" "$T/procd.log" && ok "service_triggers: reload on uci commit khien" || fail "reload trigger"
[ -d "$T/st" ] && [ -d "$T/run" ] && ok "state directory (option state_dir) and socket directory made" ||
	fail "directories from the UCI options"
sed 's/option enabled .1./option enabled '"'"'0'"'"'/' "$T/khien" >"$T/khien.off"
run_init "$T/khien.off"
! grep -q "^open" "$T/procd.log" && grep -qxF "rc 0" "$T/procd.log" &&
	ok "option enabled 0: no instance" || { fail "disabled"; sed 's/^/#  /' "$T/procd.log"; }
sed 's/198.18.0.2:53/198.18.0.999/' "$T/khien" >"$T/khien.bad"
run_init "$T/khien.bad"
! grep -q "^open" "$T/procd.log" && grep -q "logger .*not started: khiend: $T/khien.bad:[0-9]*: khien.bad.dns.upstream\[1\]: not an address" "$T/procd.log" &&
	ok "bad UCI: not started, the file:line reason logged" || { fail "bad UCI"; sed 's/^/#  /' "$T/procd.log"; }

# ---- sysupgrade: the hook over a stand-in validate_firmware_image
mkdir -p "$T/up"
cat >"$T/up/khienctl" <<'SH'
#!/bin/sh
# stand-in for khienctl firmware verify: the image's first line says the verdict
[ "$1 $2" = "firmware verify" ] || exit 2
case "$(head -1 "$3")" in
good) echo "ok: version 2.0, counter 7" ;;
old) echo "REFUSED: rollback: counter 3 below the stored 7"; exit 1 ;;
*) echo "REFUSED: signature: no valid signature"; exit 1 ;;
esac
SH
chmod +x "$T/up/khienctl"
cat >"$T/up/platform.sh" <<'SH'
platform_check_image() { [ "$(sed -n 2p "$1")" != "wrong-board" ] || { notify_firmware_broken; return 1; }; }
SH
sed -e "s|/usr/bin/khienctl|$T/up/khienctl|" -e "s|/lib/upgrade/platform.sh|$T/up/platform.sh|g" \
	"$PKG/files/khien.upgrade" >"$T/up/zz-khien.sh"
validate() { # IMG: what validate_firmware_image concludes (VALID FORCEABLE)
	sh -c '
		notify_firmware_invalid() { VALID=0; }
		notify_firmware_broken() { VALID=0; FORCEABLE=0; }
		notify_firmware_no_backup() { :; }
		notify_firmware_test_result() { :; }
		VALID=1 FORCEABLE=1
		. "$0"   # the target s platform.sh, then ours, in name order
		. "$1"
		platform_check_image "$2" 2>/dev/null || notify_firmware_invalid
		echo "$VALID $FORCEABLE"' "$T/up/platform.sh" "$T/up/zz-khien.sh" "$1"
}
printf 'good\nok-board\n' >"$T/img.good"; : >"$T/img.good.manifest"
printf 'good\n' >"$T/img.nomanifest"
printf 'old\n' >"$T/img.old"; : >"$T/img.old.manifest"
printf 'forged\n' >"$T/img.forged"; : >"$T/img.forged.manifest"
printf 'good\nwrong-board\n' >"$T/img.board"; : >"$T/img.board.manifest"
expect_eq "signed image for this device: valid" "$(validate "$T/img.good")" "1 1"
expect_eq "image without IMG.manifest: invalid, not forceable (-F refused)" "$(validate "$T/img.nomanifest")" "0 0"
expect_eq "older image (rollback): invalid, not forceable" "$(validate "$T/img.old")" "0 0"
expect_eq "badly signed image: invalid, not forceable" "$(validate "$T/img.forged")" "0 0"
expect_eq "the target's own check still runs and its verdict is kept" "$(validate "$T/img.board")" "0 0"

# ---- the .ipk
# (re)made from the current tree when the cross compiler is there: make is incremental
if [ -z "${KHIEN_IPK:-}" ] && command -v mipsel-linux-gnu-gcc >/dev/null; then
	# the package is a plain router build, whatever this suite runs under (make test
	# SANITIZE=1 passes SANITIZE in MAKEFLAGS, and the target has no libasan)
	env -u MAKEFLAGS -u MFLAGS -u MAKELEVEL make -s -j"$(nproc)" -C "$KHIEN_TOP" ipk ARCH=mipsel_24kc \
		SANITIZE=0 >"$T/mk" 2>&1 || { fail "make ipk ARCH=mipsel_24kc"; sed 's/^/#  /' "$T/mk"; }
fi
if [ ! -f "$IPK" ]; then
	skip "the .ipk" "no $IPK and no mipsel cross compiler (scripts/deps.sh cross mipsel)"; done_testing
fi
mkdir -p "$T/ipk" "$T/control" "$T/data"
(cd "$T/ipk" && ar x "$IPK") || fail "ar x"
expect_eq "ar members in opkg's order" "$(ar t "$IPK" | tr '\n' ' ')" "debian-binary control.tar.gz data.tar.gz "
expect_eq "debian-binary is 2.0" "$(cat "$T/ipk/debian-binary")" "2.0"
tar -xzf "$T/ipk/control.tar.gz" -C "$T/control" && tar -xzf "$T/ipk/data.tar.gz" -C "$T/data" &&
	ok "control.tar.gz and data.tar.gz are gzip'd tar" || fail "members unpack"
expect_eq "data file list" "$(tar -tzf "$T/ipk/data.tar.gz" | sed 's|^\./||; /^$/d; /\/$/d' | sort | tr '\n' ' ')" \
	"etc/config/khien etc/init.d/khien lib/upgrade/keep.d/khien lib/upgrade/zz-khien.sh usr/bin/khienctl usr/sbin/khiend usr/share/nftables.d/chain-pre/dstnat_lan/30-khien-dns.nft usr/share/nftables.d/chain-pre/forward_lan/30-khien-dot.nft "
modes=$(tar -tvzf "$T/ipk/data.tar.gz" | awk '{sub(/^\.\//, "", $6); print $1, $2, $6}' | sort -k3)
want_mode() { # MODE PATH
	echo "$modes" | grep -qxF -- "$1 0/0 $2" && ok "$2: $1, root" || { fail "$2: $1 root"; echo "$modes" | grep -F " $2" | sed 's/^/#  /'; }
}
want_mode -rwxr-xr-x usr/sbin/khiend
want_mode -rwxr-xr-x usr/bin/khienctl
want_mode -rwxr-xr-x etc/init.d/khien
want_mode -rw------- etc/config/khien
want_mode drwx------ etc/khien/
want_mode -rw-r--r-- lib/upgrade/keep.d/khien
want_mode -rw-r--r-- lib/upgrade/zz-khien.sh
field() { sed -n "s/^$1: //p" "$T/control/control"; }
expect_eq "control Package" "$(field Package)" "khien"
expect_eq "control Version (lib/version.h, PKG_RELEASE)" "$(field Version)" "$VERSION-1"
expect_eq "control Architecture" "$(field Architecture)" "mipsel_24kc"
expect_eq "control Depends: the feed's libmbedtls and cJSON" "$(field Depends)" "libc, libmbedtls12, cJSON"
[[ "$(field Installed-Size)" =~ ^[0-9]+$ ]] && ok "control Installed-Size" || fail "Installed-Size"
grep -q '^Description: ' "$T/control/control" && ok "control Description" || fail "Description"
expect_eq "conffiles: the UCI file and /etc/khien" "$(tr '\n' ' ' <"$T/control/conffiles")" "/etc/config/khien /etc/khien/ "
for s in postinst prerm; do
	[ -x "$T/control/$s" ] && sh -n "$T/control/$s" && ok "control $s: executable shell" || fail "control $s"
done
grep -qF "/etc/init.d/khien enable" "$T/control/postinst" && ok "postinst enables the service" || fail "postinst enable"
grep -qF 'c=$(khienctl web setup-code 2>/dev/null); rc=$?' "$T/control/postinst" && ok "postinst shows the owner setup code" || fail "postinst setup code"
cmp -s "$T/data/etc/init.d/khien" "$PKG/files/khien.init" && cmp -s "$T/data/etc/config/khien" "$PKG/files/khien.config" &&
	ok "init script and UCI file are the package's" || fail "init script and UCI file shipped"
grep -qxF "/etc/khien/" "$T/data/lib/upgrade/keep.d/khien" && ok "sysupgrade keeps /etc/khien (state_dir under it)" || fail "keep.d"
grep -q "redirect to :53" "$T/data/usr/share/nftables.d/chain-pre/dstnat_lan/30-khien-dns.nft" &&
	grep -q "th dport 853 .*reject" "$T/data/usr/share/nftables.d/chain-pre/forward_lan/30-khien-dot.nft" &&
	ok "fw4 includes: LAN DNS redirected, DoT rejected" || fail "fw4 includes"
if command -v nft >/dev/null && nft -c -f /dev/null 2>/dev/null; then
	printf 'table inet t {\nchain dstnat_lan {\ntype nat hook prerouting priority dstnat;\ninclude "%s"\n}\nchain forward_lan {\ntype filter hook forward priority 0;\ninclude "%s"\n}\n}\n' \
		"$T/data/usr/share/nftables.d/chain-pre/dstnat_lan/30-khien-dns.nft" \
		"$T/data/usr/share/nftables.d/chain-pre/forward_lan/30-khien-dot.nft" >"$T/fw4.nft"
	nft -c -f "$T/fw4.nft" 2>"$T/nft.err" && ok "nft -c accepts the fw4 includes" || { fail "nft -c"; sed 's/^/#  /' "$T/nft.err"; }
else skip "nft -c of the fw4 includes" "nft not usable here"; fi
hdr=$(readelf -h "$T/data/usr/sbin/khiend" 2>/dev/null)
echo "$hdr" | grep -q "Machine: *MIPS" && echo "$hdr" | grep -q "little endian" && echo "$hdr" | grep -q "ELF32" &&
	ok "khiend is MIPS32 little-endian" || fail "khiend architecture"
readelf -S "$T/data/usr/sbin/khiend" | grep -q '\.symtab' && fail "khiend stripped" || ok "khiend stripped"
readelf -d "$T/data/usr/sbin/khiend" | grep -q 'libmbedtls.so' && readelf -d "$T/data/usr/sbin/khiend" | grep -q 'libcjson.so' &&
	ok "khiend links the shared libmbedtls and libcjson" || fail "shared libraries"
# the packaged binary under qemu-user reads the packaged UCI file as the host build does
if "$T/data/usr/sbin/khiend" --uci "$T/data/etc/config/khien" --print >"$T/mips.json" 2>"$T/mips.err"; then
	"$KHIEN_BUILD/khiend" --uci "$T/data/etc/config/khien" --print >"$T/host.json"
	cmp -s "$T/mips.json" "$T/host.json" && ok "mipsel khiend (qemu-user): the packaged UCI file gives the host's settings" ||
		{ fail "mipsel and host settings"; diff "$T/mips.json" "$T/host.json" | sed 's/^/#  /'; }
else
	if grep -q "Exec format error" "$T/mips.err"; then skip "mipsel khiend under qemu-user" "no binfmt for MIPS";
	else fail "mipsel khiend --print"; sed 's/^/#  /' "$T/mips.err"; fi
fi
# ... and filters DNS: the shipped build is MIPS16 and link-time optimised (make ipk)
readelf -h "$T/data/usr/sbin/khiend" | grep -q "mips16" &&
	ok "khiend is built with MIPS16 (CONFIG_USE_MIPS16, as OpenWrt's 24Kc packages)" || fail "khiend MIPS16"
if [ -s "$T/mips.json" ]; then
	UP=$(rand_port); DNS=$((UP + 1))
	"$KHIEN_BUILD/khien-policy" compile -q -o "$T/idx" --list gambling="$FIX/lists/gambling.txt" >/dev/null 2>&1
	chmod 644 "$T/idx"
	start_upstream $UP 1 || exit 1
	"$T/data/usr/sbin/khiend" -f --listen 127.0.0.1:$DNS --upstream 127.0.0.1:$UP --index "$T/idx" \
		--control "$T/m.sock" --state-dir "$T/mstate" >"$T/mk.log" 2>&1 &
	PIDS+=($!)
	for _ in $(seq 100); do "$T/data/usr/bin/khienctl" --control "$T/m.sock" status >/dev/null 2>&1 && break; sleep 0.1; done
	D="dig +time=5 +tries=1 @127.0.0.1 -p $DNS"
	$D www.casino-example.com | grep -q "status: NXDOMAIN" &&
		ok "packaged mipsel khiend (qemu-user) blocks a listed name" ||
		{ fail "packaged khiend blocks"; sed 's/^/#  /' "$T/mk.log"; }
	[[ "$($D example.org +short)" == 198.19.* ]] && ok "... and forwards an allowed one" ||
		fail "packaged khiend forwards"
	"$T/data/usr/bin/khienctl" --control "$T/m.sock" status | grep -q '"blocked":[[:space:]]*1' &&
		ok "... and its khienctl reads the count" || fail "packaged khienctl status"
fi
done_testing
