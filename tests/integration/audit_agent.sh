#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# The audit on the device: khiend applies a signed bundle with blocklist and
# audit rules, evaluates them on --audit-root (a fixture root), and
# `khienctl audit` shows what `khien-policy audit check` shows for the same
# root. The rules run in the auditor process, which alone can read
# /etc/shadow (only CAP_DAC_READ_SEARCH kept); the engine cannot. A fixed
# finding changes only its own check; rules that do not parse leave the
# previous ones in force; a missing audit root at start is an error.
. "$(dirname "$0")/lib.sh"
P=$KHIEN_BUILD/khien-policy
MK=$FIX/audit/mkroot.sh
B=$KHIEN_TOP/policy/rules/openwrt-baseline.json
UP=$(rand_port); DNS=$((UP + 1))
D="dig +time=3 +tries=1 @127.0.0.1 -p $DNS"

"$MK" factory "$T/root" || fail "fixture root"
"$P" keygen -o "$T/k" >/dev/null && "$P" root init --key "$T/k.pub" --policy-key "$T/k.pub" --expires +30d \
	-o "$T/root.json" >/dev/null && "$P" root sign --key "$T/k.key" "$T/root.json" >/dev/null || fail "keys and root"
SOURCE_DATE_EPOCH=1795000000 "$P" compile -o "$T/idx" --list malware="$FIX/lists/malware.hosts" >/dev/null 2>&1
"$P" audit compile "$B" -o "$T/audit.rules" >/dev/null || fail "audit compile"
bundle() { "$P" bundle --key "$T/k.key" --version "$1" --expires +1d --component blocklist="$T/idx" "${@:2}" -o "$T/b$1" >/dev/null; }
bundle 1 --component audit="$T/audit.rules" || fail "bundle 1"
start_upstream $UP 1 || exit 1
agent() { start_khiend --listen 127.0.0.1:$DNS --upstream 127.0.0.1:$UP --trust-root "$T/root.json" \
	--user khien --state-dir "$T/state" "$@"; }

agent --bundle "$T/b1" --audit-root "$T/root" || { fail "khiend starts"; done_testing; }
expect_rc "khienctl audit run: a check fails (exit 1)" 1 ctl audit run --json
cp "$T/out" "$T/dev.json"
"$P" audit check "$T/audit.rules" --root "$T/root" --json > "$T/tool.json"
expect_eq "the device's results are the tool's for the same root" \
	"$(json_get "$T/dev.json" '[(c["id"], c["result"], c["evidence"]) for c in d["checks"]]')" \
	"$(json_get "$T/tool.json" '[(c["id"], c["result"], c["evidence"]) for c in d["checks"]]')"
expect_eq "JSON: policy, summary and run number" \
	"$(json_get "$T/dev.json" 'd["policy"]["id"], d["summary"]["error"], d["run"] >= 1, d["running"]')" \
	"khien-openwrt-baseline 0 True False"
expect_eq "password checks were evaluated (shadow read)" \
	"$(json_get "$T/dev.json" '[c["evidence"] for c in d["checks"] if c["id"] == "root-password-set"][0]')" \
	"root has no password"

# who can read what
EPID=$(engine_pid)
APID=$(pgrep -P $KPID | grep -vx "$EPID" | head -1)
[ -n "$APID" ] && ok "an auditor process runs beside the engine ($APID)" || fail "no auditor process"
grep -q "Uid:[[:space:]]*$(id -u khien)[[:space:]]" /proc/$APID/status && ok "the auditor runs as khien" ||
	fail "auditor uid"
expect_eq "the auditor keeps only CAP_DAC_READ_SEARCH (effective, permitted, bounding)" \
	"$(grep -E '^Cap(Eff|Prm|Bnd)' /proc/$APID/status | awk '{print $2}' | sort -u)" "0000000000000004"
expect_eq "the auditor cannot regain privileges (no_new_privs)" "$(awk '/^NoNewPrivs/ {print $2}' /proc/$APID/status)" "1"
expect_eq "the engine has no capability" "$(awk '/^CapEff/ {print $2}' /proc/$EPID/status)" "0000000000000000"
! as_user khien cat "$T/root/etc/shadow" >/dev/null 2>&1 && ok "the engine's user cannot read the shadow file" ||
	fail "khien can read shadow"
if grep -q __asan_init "$KHIEN_BUILD/khiend"; then
	skip "the auditor may not fork" "sanitizer build: LeakSanitizer clones a tracer at exit"
else
	grep -qE "^Max processes +0 +0 " /proc/$APID/limits && ok "the auditor may not fork" || fail "auditor fork limit"
fi

# a fixed finding: only its check changes
[[ "$($D +short after.example.org)" == 198.19.* ]] && ok "DNS answers while audits run" || fail "DNS answers"
t0=$(json_get "$T/dev.json" '[c["changed_at"] for c in d["checks"] if c["id"] == "no-telnet"][0]')
rm -rf "$T/root/proc/518"
python3 - "$T/root/proc/net/tcp" <<'PY'
import sys
p = sys.argv[1]
lines = [l for l in open(p) if ":0017 " not in l]
open(p, "w").writelines(lines)
PY
sleep 1.1
expect_rc "audit run after telnet is removed: still failing checks (exit 1)" 1 ctl audit run --json
cp "$T/out" "$T/dev2.json"
expect_eq "no-telnet passes now" \
	"$(json_get "$T/dev2.json" '[c["result"] for c in d["checks"] if c["id"] == "no-telnet"][0]')" "pass"
expect_eq "only no-telnet changed" "$(python3 - "$T/dev.json" "$T/dev2.json" <<'PY'
import json, sys
a, b = (json.load(open(f)) for f in sys.argv[1:3])
old = {c["id"]: c for c in a["checks"]}
print([c["id"] for c in b["checks"] if (c["result"], c["evidence"]) != (old[c["id"]]["result"], old[c["id"]]["evidence"])])
PY
)" "['no-telnet']"
t1=$(json_get "$T/dev2.json" '[c["changed_at"] for c in d["checks"] if c["id"] == "no-telnet"][0]')
[ "$t1" -gt "$t0" ] && ok "its changed_at moved ($t0 -> $t1)" || fail "changed_at $t0 -> $t1"
expect_eq "an unchanged check keeps its changed_at" \
	"$(json_get "$T/dev2.json" '[c["changed_at"] for c in d["checks"] if c["id"] == "no-ftp"][0]')" \
	"$(json_get "$T/dev.json" '[c["changed_at"] for c in d["checks"] if c["id"] == "no-ftp"][0]')"
expect_eq "the digest changed" "$(json_get "$T/dev.json" 'd["digest"]') $(json_get "$T/dev2.json" 'd["digest"]' | cut -c1-8)" \
	"$(json_get "$T/dev.json" 'd["digest"]') $(json_get "$T/dev2.json" 'd["digest"]' | cut -c1-8)"
[ "$(json_get "$T/dev.json" 'd["digest"]')" != "$(json_get "$T/dev2.json" 'd["digest"]')" ] &&
	ok "  (the result set's digest differs)" || fail "digest unchanged"
expect_rc "khienctl audit (latest, table)" 1 ctl audit
grep -qE "^33 checks: [0-9]+ pass, [0-9]+ fail, 0 na, 0 error$" "$T/out" && ok "  ends with the summary" ||
	fail "  table: $(tail -1 "$T/out")"

# compiled rules damaged before signing: refused by the device's decoder, the previous rules stay
python3 - "$T/audit.rules" "$T/bad.rules" <<'PY'
import struct, sys
b = bytearray(open(sys.argv[1], "rb").read())
checks = struct.unpack_from("<H", b, 28)[0]
b[44 + 24 * checks] = 200  # the first rule's kind
open(sys.argv[2], "wb").write(b)
PY
bundle 2 --component audit="$T/bad.rules" || fail "bundle 2"
expect_rc "a bundle with broken audit rules applies (its signature is good)" 0 ctl policy apply "$T/b2"
grep -q "audit rules of the policy refused: rule 0: kind 200 (expected 0..9)" "$T/khiend.log" &&
	ok "  the audit refuses the rules and says why" || fail "  no refusal logged: $(grep refused "$T/khiend.log")"
ctl audit --json > "$T/dev3.json"
expect_eq "  the previous rules stay in force" "$(json_get "$T/dev3.json" 'd["policy"]["id"]')" "khien-openwrt-baseline"
# a policy without audit rules clears the results
bundle 3 || fail "bundle 3"
expect_rc "a bundle without audit rules applies" 0 ctl policy apply "$T/b3"
expect_rc "  khienctl audit says there are none (exit 0)" 0 ctl audit
grep -q "no audit rules in the active policy" "$T/out" && ok "  no rules, no results" || fail "  $(cat "$T/out")"
stop_khiend

# a missing audit root at start is an error, not an audit of nothing
"$KHIEN_BUILD/khiend" -f --listen 127.0.0.1:$DNS --upstream 127.0.0.1:$UP --trust-root "$T/root.json" \
	--user khien --state-dir "$T/state" --control "$T/ctl2.sock" --audit-root "$T/nowhere" > "$T/k2.log" 2>&1 &
pid=$!
for _ in $(seq 50); do kill -0 $pid 2>/dev/null || break; sleep 0.1; done
if kill -0 $pid 2>/dev/null; then
	fail "khiend with a missing audit root keeps running"
	kill $pid
else
	wait $pid
	expect_eq "khiend with a missing audit root exits with a configuration error" "$?" "1"
	grep -q "audit root $T/nowhere" "$T/k2.log" && ok "  and says which" || fail "  $(cat "$T/k2.log")"
fi
done_testing
