#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# khien-policy firmware mcuboot-verify on a provisioning station: images
# built by tests/helpers/mkmcuboot.c from MCUboot's format, a valid one
# and each attack, checked with the device's verifier (firmware/mcuboot.c);
# exit 0 only for the valid image, the reason on stderr or in --json.
. "$(dirname "$0")/lib.sh"
P=$KHIEN_BUILD/khien-policy
M=$KHIEN_BUILD/tests/khien-mkmcuboot
trap 'rm -rf "$T"' EXIT
"$P" keygen -o $T/fw >/dev/null && "$P" keygen -o $T/other >/dev/null || fail "keygen"
V() { "$P" firmware mcuboot-verify "$@"; }
"$M" --key $T/fw.key --counter 7 --version 3.1.4+15 --payload-size 200000 -o $T/ok.img || fail "build"
expect_rc "a valid image verifies (exit 0)" 0 V --key $T/fw.pub $T/ok.img
expect_eq "  and says what it is" "$(cut -d, -f1,2 $T/out)" "ok: version 3.1.4+15, counter 7"
expect_eq "  the hash is the SHA-256 of header, image and protected TLVs" \
	"$(grep -o 'sha256 [0-9a-f]*' $T/out | cut -c8-)" "$(head -c $((32 + 200000 + 12)) $T/ok.img | sha256sum | cut -c1-64)"
expect_rc "  with several keys, the right one is found" 0 V --key $T/other.pub --key $T/fw.pub --min-counter 7 $T/ok.img
V --key $T/fw.pub --json $T/ok.img >$T/j
expect_eq "  --json" "$(json_get $T/j '(d["valid"], d["version"], d["security_counter"], d["image_size"], d["key"])')" \
	"(True, '3.1.4+15', 7, 200000, '$(json_get $T/fw.pub 'd["keyid"]')')"

refused() { # NAME ERROR REASON_RE MKMCUBOOT_ARGS... : built with those switches, refused with that reason
	local name=$1 kind=$2 re=$3
	shift 3
	"$M" --key $T/fw.key "$@" -o $T/bad.img || { fail "build $name"; return; }
	V --key $T/fw.pub --min-counter 5 $T/bad.img >$T/out 2>$T/err
	local rc=$?
	if [ $rc -eq 1 ] && grep -Eq "refused \($kind\): .*$re" $T/err; then ok "$name is refused ($kind)"; else
		fail "$name is refused ($kind, /$re/): exit $rc"
		sed 's/^/#   /' $T/err
	fi
}
refused "a tampered payload" invalid "does not match.*tampered" --counter 7 --tamper
refused "a security counter in the unprotected area" invalid "TLV 0x50 .*unprotected.*CVE-2024-32883" --counter 7 --unprotected-counter
refused "a dependency TLV in the unprotected area" invalid "TLV 0x40 .*unprotected" --counter 7 --tlv-unprot 64
refused "a lower security counter" rollback "counter 4 is below the stored 5" --counter 4
refused "no security counter" invalid "no security counter" --no-counter
refused "a truncated TLV area" invalid "truncated" --counter 7 --truncate 30
refused "a TLV whose length overruns its area" invalid "runs past" --counter 7 --tlv-len 200
refused "an image size past the file" invalid "overrun" --counter 7 --img-size 4294967000
refused "a protected size that disagrees with its TLV info" invalid "protected TLV area says" --counter 7 --prot-size 16
refused "no signature" signature "no ECDSA" --counter 7 --no-sig
"$M" --key $T/other.key --counter 9 -o $T/other.img
expect_rc "an image signed by another key is refused (exit 1)" 1 V --key $T/fw.pub $T/other.img
grep -q "signed by a key that is not a firmware key" $T/err && ok "  with the reason" || fail "  reason"
V --key $T/fw.pub --json $T/other.img >$T/j
expect_eq "  --json says so" "$(json_get $T/j '(d["valid"], d["error"])')" "(False, 'signature')"
expect_rc "no image is a usage error" 2 V --key $T/fw.pub
expect_rc "a missing image is refused" 1 V --key $T/fw.pub $T/none.img

# --root: the firmware role's keys and threshold, as a device checks them
for k in root pol fw2; do "$P" keygen -o $T/$k >/dev/null || fail "keygen $k"; done
"$P" root init --key $T/root.pub --policy-key $T/pol.pub --firmware-key $T/fw.pub --firmware-key $T/fw2.pub \
	--firmware-threshold 2 --expires +3650d -o $T/root.json >/dev/null && "$P" root sign --key $T/root.key $T/root.json >/dev/null
expect_rc "--root: one firmware key of a threshold-2 role is refused" 1 V --root $T/root.json $T/ok.img
grep -q "signed by 1 distinct firmware key(s), 2 needed" $T/err && ok "  below the threshold" || fail "  reason"
"$M" --key $T/fw.key --key $T/fw2.key --counter 7 -o $T/two.img || fail "build two"
V --root $T/root.json --json $T/two.img >$T/j
expect_eq "--root: two distinct firmware keys verify" "$(json_get $T/j '(d["valid"], d["keys_signed"])')" "(True, 2)"
"$M" --key $T/fw.key --key $T/fw.key --counter 7 -o $T/twice.img || fail "build twice"
expect_rc "--root: the same key twice counts once" 1 V --root $T/root.json $T/twice.img
"$M" --key $T/fw.key --key $T/pol.key --counter 7 -o $T/pol.img || fail "build pol"
expect_rc "--root: a policy key does not count" 1 V --root $T/root.json $T/pol.img
expect_rc "--key with --threshold 2 likewise" 1 V --key $T/fw.pub --key $T/fw2.pub --threshold 2 $T/ok.img
expect_rc "  and two keys pass it" 0 V --key $T/fw.pub --key $T/fw2.pub --threshold 2 $T/two.img
expect_rc "--root and --key together is a usage error" 2 V --root $T/root.json --key $T/fw.pub $T/two.img
done_testing
