#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Signed policy under attack: real keys, roots and bundles from khien-policy,
# applied to a running khiend with khienctl. Every tampered, replayed,
# expired, mistargeted or under-signed bundle must be refused with a clear
# reason while the active policy version stays; resets and root rotation
# (including a device that missed several rotations) must work.
. "$(dirname "$0")/lib.sh"
P=$KHIEN_BUILD/khien-policy
S="$KHIEN_TOP/tests/integration/bundle_surgery.py"
L=$FIX/lists
K=$T/keys; mkdir -p "$K"
for k in rootA rootB rootC rootD pol1 pol2 pol3 rogue; do "$P" keygen -o "$K/$k" >/dev/null || exit 1; done
"$P" root init --threshold 2 --key $K/rootA.pub --key $K/rootB.pub --policy-key $K/pol1.pub \
	--policy-key $K/pol2.pub --policy-threshold 2 --expires +365d -o $T/root1.json >/dev/null
"$P" root sign --key $K/rootA.key $T/root1.json >/dev/null
"$P" root sign --key $K/rootB.key $T/root1.json >/dev/null
"$P" compile -q -o $T/idx1 --list malware=$L/malware.hosts >/dev/null 2>&1
echo "newly.example" > $T/new.txt
"$P" compile -q -o $T/idx2 --list malware=$L/malware.hosts --list malware=$T/new.txt >/dev/null 2>&1
B() { "$P" bundle "$@" >/dev/null; }
B --key $K/pol1.key --key $K/pol2.key --version 1 --expires +30d --component blocklist=$T/idx1 -o $T/v1
B --key $K/pol1.key --key $K/pol2.key --version 2 --expires +30d --component blocklist=$T/idx2 -o $T/v2
B --key $K/pol1.key --key $K/pol2.key --version 2 --expires +30d --component blocklist=$T/idx1 -o $T/v2other
chmod 644 $T/* $K/*.pub

UP=$(rand_port); DNS=$((UP + 1))
start_upstream $UP 1 || exit 1
start_khiend --listen 127.0.0.1:$DNS --upstream 127.0.0.1:$UP --trust-root $T/root1.json \
	--hardware-id hw-test-1 --user khien || { fail "khiend starts"; done_testing; }
version() { ctl status | json_get /dev/stdin 'd["policy"]["version"]'; }
expect_eq "no policy before the first bundle" "$(version)" "0"
ctl policy apply $T/v1 >/dev/null && ok "valid bundle v1 applied" || fail "valid bundle v1 applied"
expect_eq "policy.version in status" "$(version)" "1"
expect_eq "its blocklist is enforced" "$(dig +short +time=3 @127.0.0.1 -p $DNS malware-c2.example; dig @127.0.0.1 -p $DNS malware-c2.example | grep -o 'status: [A-Z]*')" "status: NXDOMAIN"

# attack NAME FILE REASON: refused with that reason, active version unchanged
attack() {
	local name=$1 file=$2 reason=$3 before
	before=$(version)
	ctl policy apply "$file" >"$T/out" 2>"$T/err"
	local rc=$?
	if [ $rc -eq 1 ] && grep -qF -- "$reason" "$T/err" && [ "$(version)" = "$before" ]; then
		ok "refused: $name"
	else
		fail "refused: $name (rc $rc, version $(version), was $before)"
		sed 's/^/#   /' "$T/err"
	fi
}
"$S" flip-header $T/v2 $T/a1; attack "header byte flipped" $T/a1 "unsupported format version"
"$S" flip-manifest-version $T/v2 $T/a2; attack "manifest byte flipped" $T/a2 "signatures: 0 valid policy signature(s), 2 needed"
"$S" flip-sig $T/v2 $T/a3; attack "signature byte flipped" $T/a3 "signatures: 1 valid policy signature(s), 2 needed"
"$S" flip-component $T/v2 $T/a4; attack "component byte flipped" $T/a4 "component blocklist: SHA-256 mismatch"
"$S" truncate $T/v2 $T/a5 100; attack "truncated component" $T/a5 "truncated (component blocklist cut short)"
head -c 40 $T/v2 > $T/a6; attack "truncated manifest" $T/a6 "truncated (manifest or signatures cut short)"
head -c 10 $T/v2 > $T/a7; attack "truncated header" $T/a7 "not a Khien bundle or truncated before its header"
cat $T/v2 /dev/null > $T/a8; printf 'x' >> $T/a8; attack "trailing data" $T/a8 "1 bytes of trailing data"
"$S" splice $T/v2 $T/a9 $T/v2other; attack "component swapped from another bundle" $T/a9 "SHA-256 mismatch (tampered or swapped)"
"$S" noncanonical $T/v2 $T/a10; attack "non-canonical manifest" $T/a10 "not in canonical form"
attack "replay of an older version" $T/v1 "version 1 is not newer than the active version 1 (rollback)"
B --key $K/pol1.key --key $K/pol2.key --version 3 --expires 2020-01-01 --created 2019-12-01 --component blocklist=$T/idx2 -o $T/a11
attack "expired bundle" $T/a11 "expired at 2020-01-01T00:00:00Z (freeze)"
B --key $K/pol1.key --key $K/pol2.key --version 3 --expires +30d --target hw-other --component blocklist=$T/idx2 -o $T/a12
attack "wrong hardware target" $T/a12 "bundle is for other hardware (this device: hw-test-1)"
B --key $K/pol1.key --key $K/rogue.key --version 3 --expires +30d --component blocklist=$T/idx2 -o $T/a13
attack "signature by an unauthorised key" $T/a13 "signatures: 1 valid policy signature(s), 2 needed"
B --key $K/pol1.key --version 3 --expires +30d --component blocklist=$T/idx2 -o $T/a14
attack "one signature short of the threshold" $T/a14 "signatures: 1 valid policy signature(s), 2 needed"
B --key $K/pol1.key --key $K/pol1.key --version 3 --expires +30d --component blocklist=$T/idx2 -o $T/a15
attack "the same key twice does not count twice" $T/a15 "signatures: 1 valid policy signature(s), 2 needed"
B --key $K/pol1.key --key $K/pol2.key --version 3 --expires +30d --unsafe-extra-field 'priority=1' --component blocklist=$T/idx2 -o $T/a16
attack "unknown critical field in the signed manifest" $T/a16 "manifest: unknown field"
B --key $K/rootA.key --key $K/rootB.key --version 3 --expires +30d --component blocklist=$T/idx2 -o $T/a17
attack "root keys cannot sign ordinary policy" $T/a17 "signatures: 0 valid policy signature(s), 2 needed"
cp $T/v2 $T/a18; truncate -s $((65 << 20)) $T/a18; chmod 644 $T/a18
attack "endless data (over the 64 MiB cap)" $T/a18 "over a hard limit"
# component names become file names in the slot: the verifier refuses those that are not
# plain file names (the bundles are re-signed with the real keys, so only the name refuses them)
"$S" rename $T/v2 $T/n0 blocklist other-name $K/pol1.key $K/pol2.key
expect_rc "control: a renamed, re-signed bundle verifies" 0 "$P" verify --root $T/root1.json --active-version 1 $T/n0
n=1
for c in '.|component name "." names a directory, not a file' \
	'..|component name ".." names a directory, not a file' \
	'manifest|component name "manifest" is reserved' \
	'|a component has an empty name' \
	'a/b|component name has byte 0x2f at offset 1' \
	'../../etc/cron.d/x|component name has byte 0x2f at offset 2' \
	'a\x00b|a string holds a NUL character' \
	'a\nb|component name has byte 0x0a at offset 1' \
	'a\x1bb|component name has byte 0x1b at offset 1'; do
	"$S" rename $T/v2 $T/n$n blocklist "${c%%|*}" $K/pol1.key $K/pol2.key
	attack "component named '${c%%|*}'" $T/n$n "${c#*|}"
	n=$((n + 1))
done
expect_eq "after every attack the active version is still 1" "$(version)" "1"
expect_eq "and its blocklist still applies" "$(dig @127.0.0.1 -p $DNS newly.example | grep -o 'status: [A-Z]*')" "status: NOERROR"

# the genuine v2 goes through, and enforcement follows at once
ctl policy apply $T/v2 >/dev/null && ok "valid bundle v2 applied" || fail "valid bundle v2 applied"
expect_eq "new policy enforced without restart" "$(dig @127.0.0.1 -p $DNS newly.example | grep -o 'status: [A-Z]*')" "status: NXDOMAIN"

# applying swaps the index under load without losing a query
for v in 3 4 5 6 7 8; do
	[ $((v % 2)) -eq 1 ] && i=$T/idx1 || i=$T/idx2
	B --key $K/pol1.key --key $K/pol2.key --version $v --expires +30d --component blocklist=$i -o $T/load.$v
done
chmod 644 $T/load.*
{ awk 'NR>1 && $1 !~ /^#/ {print $2" A"}' $L/malware.hosts; for i in $(seq 200); do echo "load$i.example.org A"; done; } > "$T/load.txt"
( sleep 0.5; for v in 3 4 5 6 7 8; do ctl policy apply $T/load.$v >/dev/null || echo "apply $v failed" >> "$T/apply.err"; sleep 0.3; done ) &
ap=$!
dnsperf -s 127.0.0.1 -p $DNS -d "$T/load.txt" -l 3.5 -Q 3000 -t 3 > "$T/perf.txt" 2>&1
wait $ap
sent=$(awk '/Queries sent:/ {print $3}' "$T/perf.txt"); lost=$(awk '/Queries lost:/ {print $3}' "$T/perf.txt")
expect_eq "six applies under load" "$(version) $( [ -f "$T/apply.err" ] && cat "$T/apply.err" || echo clean)" "8 clean"
[ "${sent:-0}" -gt 1000 ] && [ "$lost" = "0" ] && ok "no query lost while policy was applied ($sent sent)" ||
	{ fail "queries lost during applies (sent $sent, lost $lost)"; sed 's/^/#  /' "$T/perf.txt" | tail -15; }

# explicit reset: lower version only with root signatures, bound to the version it
# replaces (8) and to a new epoch (1): it applies once, and ends every bundle of epoch 0
R() { B --key $K/rootA.key --key $K/rootB.key --expires +30d --reset --component blocklist=$T/idx1 "$@"; }
B --key $K/pol1.key --key $K/pol2.key --version 1 --expires +30d --reset --replaces 8 --epoch 1 --component blocklist=$T/idx1 -o $T/r1
attack "reset signed by policy keys only" $T/r1 "signatures: 0 valid root (reset) signature(s), 2 needed"
expect_rc "khien-policy refuses a reset bound to nothing" 2 "$P" bundle --key $K/rootA.key --version 1 --expires +30d --reset --component blocklist=$T/idx1 -o $T/r0
grep -qF -- "--reset needs --replaces VERSION and --epoch N" "$T/err" && ok "and says what it needs" || fail "reset usage: $(cat $T/err)"
"$S" unbound-reset $T/v2 $T/r0; attack "a reset bound to nothing (as older tools made them)" $T/r0 "a reset must name the version it replaces"
R --version 1 --replaces 7 --epoch 1 -o $T/r-other
attack "a reset of another version (7; the device runs 8)" $T/r-other "reset replaces version 7, but the active version is 8"
R --version 1 --replaces 8 --epoch 1 -o $T/r2
ctl policy apply $T/r2 >/dev/null && ok "root-signed reset of version 8 to version 1 applied" || fail "root-signed reset: $(cat $T/err)"
expect_eq "version and epoch after the reset" "$(ctl status | json_get /dev/stdin '(d["policy"]["version"], d["policy"]["epoch"])')" "(1, 1)"
attack "the same reset replayed" $T/r2 "reset to epoch 1: the device is already in epoch 1 (replayed or superseded reset)"
attack "a bundle of the epoch the reset ended, though of a higher version (v8)" $T/load.8 "bundle v8 is of epoch 0, ended by a reset (the device is in epoch 1)"
attack "the same for v2" $T/v2 "bundle v2 is of epoch 0, ended by a reset"
R --version 1 --replaces 1 --epoch 1 -o $T/r-same
attack "a reset that does not raise the epoch" $T/r-same "reset to epoch 1: the device is already in epoch 1"
B --key $K/pol1.key --key $K/pol2.key --version 2 --expires +30d --epoch 2 --component blocklist=$T/idx1 -o $T/e2
attack "policy keys cannot move the device to another epoch" $T/e2 "changes epoch only by a reset"
# the epoch survives a restart: it is in the signed manifest of the running slot
stop_khiend
echo "1 0" > $T/state/floor # and a state-dir writer lowering the stored epoch gains nothing
start_khiend --listen 127.0.0.1:$DNS --upstream 127.0.0.1:$UP --trust-root $T/root1.json \
	--hardware-id hw-test-1 --user khien || fail "restart after the reset"
grep -qF "version floor 1 (epoch 0) raised to the active version 1 (epoch 1)" "$T/khiend.log" && ok "a lowered epoch is raised at start" ||
	fail "lowered epoch raised: $(grep policy: $T/khiend.log)"
attack "the reset replayed after a restart" $T/r2 "reset to epoch 1: the device is already in epoch 1"
attack "an ended-epoch bundle after a restart" $T/load.8 "bundle v8 is of epoch 0, ended by a reset"
# the slot holding the reset damaged: the other slot (v8, epoch 0) must not come back
stop_khiend
cp -a $T/state $T/state.keep
a=$(cat $T/state/policy/active); printf 'x' >> $T/state/policy/slot-$a/blocklist
start_khiend --listen 127.0.0.1:$DNS --upstream 127.0.0.1:$UP --trust-root $T/root1.json \
	--hardware-id hw-test-1 --user khien || fail "restart with the reset slot damaged"
grep -qF "epoch 0 was ended by a reset (the device is in epoch 1); running without policy" "$T/khiend.log" &&
	ok "what the reset replaced is never a fallback" || fail "ended epoch as fallback: $(grep policy: $T/khiend.log)"
expect_eq "no policy rather than the replaced one" "$(version)" "0"
stop_khiend
rm -rf $T/state; mv $T/state.keep $T/state
start_khiend --listen 127.0.0.1:$DNS --upstream 127.0.0.1:$UP --trust-root $T/root1.json \
	--hardware-id hw-test-1 --user khien || fail "restart"

# root rotation: v2 adds new root keys and a new policy key, signed by old and new
"$P" root init --version 2 --threshold 2 --key $K/rootC.pub --key $K/rootD.pub --policy-key $K/pol3.pub \
	--expires +365d -o $T/root2.json >/dev/null
for k in rootA rootB rootC rootD; do "$P" root sign --key $K/$k.key $T/root2.json >/dev/null; done
"$P" root init --version 2 --threshold 2 --key $K/rootC.pub --key $K/rootD.pub --policy-key $K/pol3.pub \
	--expires +365d -o $T/root2bad.json >/dev/null
for k in rootC rootD; do "$P" root sign --key $K/$k.key $T/root2bad.json >/dev/null; done
B --key $K/pol3.key --version 5 --epoch 1 --expires +30d --root $T/root2bad.json --component blocklist=$T/idx2 -o $T/rot-bad
attack "root rotation not signed by the old root keys" $T/rot-bad "signed by 0 of the old root keys (2 needed)"
B --key $K/pol3.key --version 5 --epoch 1 --expires +30d --component blocklist=$T/idx2 -o $T/rot-nochain
attack "new policy key without the root that authorises it" $T/rot-nochain "signatures: 0 valid policy signature(s), 2 needed"
B --key $K/pol3.key --version 5 --epoch 1 --expires +30d --root $T/root2.json --component blocklist=$T/idx2 -o $T/rot-ok
ctl policy apply $T/rot-ok >/dev/null && ok "bundle carrying root v2 applied" || { fail "root rotation"; cat $T/err; }
expect_eq "root rotated to v2" "$(ctl status | json_get /dev/stdin '(d["policy"]["root_version"], d["policy"]["version"])')" "(2, 5)"
B --key $K/pol1.key --key $K/pol2.key --version 6 --epoch 1 --expires +30d --component blocklist=$T/idx2 -o $T/old-keys
attack "keys of the old root no longer sign policy" $T/old-keys "signatures: 0 valid policy signature(s), 1 needed"

# a device that missed two rotations walks the chain
"$P" root init --version 3 --threshold 1 --key $K/rootA.pub --policy-key $K/pol1.pub --expires +365d -o $T/root3.json >/dev/null
for k in rootC rootD rootA; do "$P" root sign --key $K/$k.key $T/root3.json >/dev/null; done
B --key $K/pol1.key --version 7 --expires +30d --root $T/root2.json --root $T/root3.json --component blocklist=$T/idx2 -o $T/chain
stop_khiend
rm -rf "$T/state2"
start_khiend --listen 127.0.0.1:$DNS --upstream 127.0.0.1:$UP --trust-root $T/root1.json --user khien \
	--state-dir "$T/state2" || fail "second device starts"
ctl policy apply $T/chain >/dev/null && ok "device at root v1 walks v2 and v3 and applies" || { fail "chain walk"; cat $T/err; }
expect_eq "second device on root v3, policy v7" "$(ctl status | json_get /dev/stdin '(d["policy"]["root_version"], d["policy"]["version"])')" "(3, 7)"

# time: the device never trusts a clock earlier than the newest signed timestamp it saw
B --key $K/pol1.key --version 8 --expires +3d --created +2d --component blocklist=$T/idx2 -o $T/t1
ctl policy apply $T/t1 >/dev/null && ok "bundle created in the future raises the time floor" || fail "time floor"
B --key $K/pol1.key --version 9 --expires +1d --component blocklist=$T/idx2 -o $T/t2
attack "bundle valid by the wall clock but expired by the signed time floor" $T/t2 "(freeze)"
stop_khiend

# restart: the applied policy comes back from the state directory
start_khiend --listen 127.0.0.1:$DNS --upstream 127.0.0.1:$UP --trust-root $T/root1.json --user khien \
	--state-dir "$T/state2" || fail "restart"
expect_eq "policy survives a restart (chain v1, v2, v3 re-verified from the firmware root)" \
	"$(ctl status | json_get /dev/stdin '(d["policy"]["root_version"], d["policy"]["version"])')" "(3, 8)"
expect_eq "its blocklist is loaded at start" "$(dig @127.0.0.1 -p $DNS newly.example | grep -o 'status: [A-Z]*')" "status: NXDOMAIN"
stop_khiend

# the ISP-side tool gives the same verdicts
expect_rc "khien-policy verify accepts a good bundle" 0 "$P" verify --root $T/root1.json $T/v2
expect_rc "khien-policy verify refuses a tampered one" 1 "$P" verify --root $T/root1.json $T/a4
grep -q "REFUSED: component blocklist: SHA-256 mismatch" "$T/out" && ok "verify says why" || fail "verify says why"
expect_rc "khien-policy keygen refuses to overwrite" 3 "$P" keygen -o $K/rootA
[ "$(stat -c %a $K/rootA.key)" = "600" ] && ok "private keys are mode 0600" || fail "private key mode"
done_testing
