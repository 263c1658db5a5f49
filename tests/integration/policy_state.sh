#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# The stored trust state under attack: whoever can write khiend's state
# directory tries to install their own root, forge or re-sign a slot, and
# lower the floors; khiend is restarted after each and must refuse the
# forgery at start with a precise log line, keeping the legitimate policy
# (or none). The root chain and the slots are re-verified from the
# firmware's root (--trust-root) at every start, so a root rotated twice
# by genuine bundles still verifies after a restart.
. "$(dirname "$0")/lib.sh"
P=$KHIEN_BUILD/khien-policy
S="$KHIEN_TOP/tests/integration/bundle_surgery.py"
L=$FIX/lists
K=$T/keys; mkdir -p "$K"
for k in rootA rootB rootC pol1 pol2 pol3 evilR evilP; do "$P" keygen -o "$K/$k" >/dev/null || exit 1; done
mkroot() { # OUT VERSION ROOTKEY POLKEY SIGNER...
	local out=$1 v=$2 rk=$3 pk=$4
	shift 4
	"$P" root init --version $v --threshold 1 --key $K/$rk.pub --policy-key $K/$pk.pub --expires +365d -o $out >/dev/null
	for s in "$@"; do "$P" root sign --key $K/$s.key $out >/dev/null; done
}
mkroot $T/root1.json 1 rootA pol1 rootA
mkroot $T/root2.json 2 rootB pol2 rootA rootB
mkroot $T/root3.json 3 rootC pol3 rootB rootC
mkroot $T/evil2.json 2 evilR evilP evilR # self-signed, a higher version
"$P" compile -q -o $T/idx1 --list malware=$L/malware.hosts >/dev/null 2>&1
echo "newly.example" > $T/new.txt
"$P" compile -q -o $T/idx2 --list malware=$L/malware.hosts --list malware=$T/new.txt >/dev/null 2>&1
echo "evil-free.example" > $T/evil.txt
"$P" compile -q -o $T/idxE --list malware=$T/evil.txt >/dev/null 2>&1
B() { "$P" bundle "$@" >/dev/null; }
B --key $K/pol1.key --version 1 --expires +30d --component blocklist=$T/idx1 -o $T/v1
# v2 is signed "two days from now": the trusted-time floor is then ahead of the clock
B --key $K/pol1.key --version 2 --expires +30d --created +2d --component blocklist=$T/idx2 -o $T/v2
B --key $K/pol1.key --version 3 --expires +1d --component blocklist=$T/idx2 -o $T/expired-by-floor
B --key $K/evilP.key --version 9 --expires +30d --component blocklist=$T/idxE -o $T/evil
chmod 644 $T/* $K/*.pub

UP=$(rand_port); DNS=$((UP + 1))
start_upstream $UP 1 || exit 1
run() { start_khiend --listen 127.0.0.1:$DNS --upstream 127.0.0.1:$UP --trust-root $T/root1.json --user khien "$@"; }
run || { fail "khiend starts"; done_testing; }
st() { ctl status | json_get /dev/stdin "$1"; }
blocks() { dig +time=2 +tries=1 @127.0.0.1 -p $DNS "$1" | grep -o 'status: [A-Z]*' | cut -d' ' -f2; }
ctl policy apply $T/v1 >/dev/null && ctl policy apply $T/v2 >/dev/null && ok "v1 then v2 applied" || fail "v1 then v2 applied"
expect_eq "v2 active in slot b" "$(st '(d["policy"]["version"], d["policy"]["slot"])')" "(2, 'b')"
stop_khiend
cp -a $T/state $T/good
SL=$T/state/policy

# attack NAME LOGLINE WANT_STATUS: restart on the tampered state; the log names the refusal
# and the status (version, slot, root version) is the legitimate one. Restores the good state.
attack() {
	local name=$1 line=$2 want=$3
	run >/dev/null || { fail "$name: khiend restarts"; return; }
	if grep -qF -- "$line" "$T/khiend.log"; then ok "$name: refused at start"; else
		fail "$name: refused at start (log has no: $line)"
		grep policy: "$T/khiend.log" | sed 's/^/#   /'
	fi
	expect_eq "$name: the legitimate state is in force" \
		"$(st '(d["policy"]["version"], d["policy"]["slot"], d["policy"]["root_version"])')" "$want"
	stop_khiend
	rm -rf $T/state
	cp -a $T/good $T/state
}

# (a) the attacker's own root, self-signed with a higher version, and a slot signed under it
python3 -c "import sys; print('[' + open(sys.argv[1]).read() + ']')" $T/evil2.json > $T/state/roots.json
"$S" slot-install $T/evil $SL/slot-a
echo a > $SL/active
run >/dev/null
grep -qF "stored root chain $T/state/roots.json refused: root v2: signed by 0 of the old root keys (1 needed)" "$T/khiend.log" &&
	ok "self-signed root of a higher version: refused at start" || { fail "self-signed root refused"; grep policy: "$T/khiend.log"; }
grep -qF "slot a: signatures: 0 valid policy signature(s), 1 needed (under root v1); falling back to slot b (version 2)" "$T/khiend.log" &&
	ok "the slot signed under it is refused" || { fail "slot under the attacker's root refused"; grep policy: "$T/khiend.log"; }
expect_eq "root v1, policy v2 from slot b" "$(st '(d["policy"]["root_version"], d["policy"]["version"], d["policy"]["slot"])')" "(1, 2, 'b')"
expect_eq "status shows why" "$(st '"stored root chain" in d["policy"]["problem"] and "slot a" in d["policy"]["problem"]')" "True"
expect_eq "the attacker's blocklist is not enforced" "$(blocks evil-free.example)" "NOERROR"
expect_eq "the legitimate one is" "$(blocks newly.example)" "NXDOMAIN"
expect_rc "the attacker's bundle is refused by apply too" 1 ctl policy apply $T/evil
stop_khiend
rm -rf $T/state; cp -a $T/good $T/state
# the same root as a legacy STATE/root.json (what older khiend versions wrote)
cp $T/evil2.json $T/state/root.json
attack "legacy root.json replaced by a self-signed root" "stored root chain $T/state/root.json refused: root v2: signed by 0 of the old root keys (1 needed)" "(2, 'b', 1)"

# (b) a component changed and the manifest recomputed: bare (unsigned), or in the old envelope
"$S" slot-unsigned $SL/slot-b $SL/slot-b blocklist=$T/idxE
# (the other slot, older but genuine, runs instead: better than none; the floor stays at 2)
attack "modified component with an unsigned manifest" "slot b: bundle: not a Khien bundle or truncated before its header (under root v1); falling back to slot a (version 1, below the version floor)" "(1, 'a', 1)"
"$S" slot-forge $SL/slot-b $SL/slot-b blocklist=$T/idxE
attack "modified component, manifest recomputed inside the signed envelope" "slot b: signatures: 0 valid policy signature(s), 1 needed (under root v1)" "(1, 'a', 1)"
cp $T/idxE $SL/slot-b/blocklist
attack "modified component, manifest untouched" "slot b: component blocklist: does not match the signed manifest" "(1, 'a', 1)"

# (c) the signatures stripped, or taken from another genuine bundle
"$S" slot-strip $SL/slot-b $SL/slot-b
attack "slot manifest with its signatures stripped" "slot b: signatures: 0 valid policy signature(s), 1 needed" "(1, 'a', 1)"
"$S" slot-sigs $SL/slot-b $SL/slot-b $T/v1
attack "slot manifest with the signatures of another bundle" "slot b: signatures: 0 valid policy signature(s), 1 needed" "(1, 'a', 1)"

# after such a fallback the floor still refuses v1, but v2 (what the device had) comes back
"$S" slot-strip $SL/slot-b $SL/slot-b
run >/dev/null
expect_rc "after a fallback below the floor, v1 is refused" 1 ctl policy apply $T/v1
expect_rc "and v2 applies again" 0 ctl policy apply $T/v2
expect_eq "running v2 again" "$(st '(d["policy"]["version"], d["policy"]["version_floor"])')" "(2, 2)"
stop_khiend
rm -rf $T/state; cp -a $T/good $T/state

# (d) floors: the older slot made active is below the version floor; lowered floors are raised
echo a > $SL/active
attack "older slot made active" "slot a: version 1 is below the version floor 2; falling back to slot b (version 2)" "(2, 'b', 1)"
echo 0 > $T/state/floor; echo 0 > $T/state/time
run >/dev/null
grep -qF "version floor 0 (epoch 0) raised to the active version 2 (epoch 0)" "$T/khiend.log" && ok "lowered version floor raised at start" || fail "version floor raised"
expect_eq "floor and trusted time back at v2's" "$(st 'd["policy"]["version_floor"] == 2 and d["policy"]["trusted_time"] >= '$(($(date +%s) + 2 * 86400 - 60)))" "True"
expect_rc "rollback to v1 still refused" 1 ctl policy apply $T/v1
grep -qF "version 1 is not newer than the active version 2 (rollback)" "$T/err" && ok "as a rollback" || fail "rollback reason: $(cat $T/err)"
expect_rc "a bundle expired by the signed time floor still refused" 1 ctl policy apply $T/expired-by-floor
grep -qF "(freeze)" "$T/err" && ok "as a freeze" || fail "freeze reason: $(cat $T/err)"
stop_khiend
rm -rf $T/state; cp -a $T/good $T/state
# both slots destroyed: no policy, and the floor still refuses the older bundle
rm $SL/slot-a/manifest $SL/slot-b/manifest
run >/dev/null
expect_eq "both slots gone: no policy, status says why" "$(st '(d["policy"]["version"], "running without policy" in d["policy"]["problem"])')" "(0, True)"
expect_rc "and v1 is still a rollback" 1 ctl policy apply $T/v1
stop_khiend
rm -rf $T/state; cp -a $T/good $T/state

# the commit pointer deleted: no policy, said so, and the floor still holds
rm $SL/active
run >/dev/null
grep -qF "$SL/active is missing, but version 2 was applied (floor); running without policy" "$T/khiend.log" &&
	ok "deleted active pointer: refused at start, visibly" || fail "deleted active pointer: $(grep policy: $T/khiend.log)"
expect_rc "and v1 is still a rollback" 1 ctl policy apply $T/v1
stop_khiend
rm -rf $T/state; cp -a $T/good $T/state

# genuine rotations, two of them, survive restarts
run >/dev/null
B --key $K/pol2.key --version 3 --expires +30d --created +2d --root $T/root2.json --component blocklist=$T/idx2 -o $T/r2
B --key $K/pol3.key --version 4 --expires +30d --created +2d --root $T/root3.json --component blocklist=$T/idx1 -o $T/r3
chmod 644 $T/r2 $T/r3
ctl policy apply $T/r2 >/dev/null && ctl policy apply $T/r3 >/dev/null && ok "two rotations applied" || fail "two rotations applied: $(cat $T/err)"
stop_khiend
run >/dev/null || fail "restart after the rotations"
expect_eq "after a restart: root v3, policy v4, nothing refused" \
	"$(st '(d["policy"]["root_version"], d["policy"]["version"], "problem" in d["policy"])')" "(3, 4, False)"
expect_eq "its blocklist is enforced" "$(blocks malware-c2.example)" "NXDOMAIN"
stop_khiend
cp -a $T/state $T/rotated
# the middle root of the chain forged: the walk stops at v1, and the v4 slot no longer verifies
python3 - $T/state/roots.json <<'PY'
import json, sys
c = json.load(open(sys.argv[1])); c[0]["signed"]["expires"] += 1
json.dump(c, open(sys.argv[1], "w"))
PY
run >/dev/null
grep -qF "refused: root v2: signed by 0 of the old root keys (1 needed) and 0 of its own (1 needed); trusting root v1" "$T/khiend.log" &&
	ok "a tampered intermediate root stops the walk" || { fail "tampered intermediate root"; grep policy: "$T/khiend.log"; }
expect_eq "falls back to the firmware root, no policy" "$(st '(d["policy"]["root_version"], d["policy"]["version"])')" "(1, 0)"
stop_khiend
# no firmware root: the stored state is not believed at all
rm -rf $T/state; cp -a $T/rotated $T/state
start_khiend --listen 127.0.0.1:$DNS --upstream 127.0.0.1:$UP --user khien >/dev/null
grep -qF "signed policy off: no firmware trust root" "$T/khiend.log" && ok "without --trust-root signed policy is off" || fail "no trust root"
stop_khiend
done_testing
