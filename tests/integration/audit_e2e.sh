#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# The audit end to end on loopback: khien-server publishes a bundle with a
# blocklist and the OpenWrt baseline; a provisioned khiend audits a fixture
# root (--audit-root) and syncs; khien-server audit, devices, compliance
# and the operator API show its results, and its high/critical failures
# arrive as audit_failed events. A fixed finding then travels alone (only
# its row changes), and a server that lost its copy asks for all of it
# again (the digests differ) and gets it.
. "$(dirname "$0")/lib.sh"
P=$KHIEN_BUILD/khien-policy
PORT=$(rand_port); UP=$((PORT + 1)); DNS=$((PORT + 2))
S=$T/srv
B=$KHIEN_TOP/policy/rules/openwrt-baseline.json

init_server $S $PORT || { fail "server init"; done_testing; }
"$SRV" provision --dir $S --device SN-AUD-1 --group home -o $T/dev >/dev/null || fail "provision"
"$P" compile -q -o $T/idx --list malware=$FIX/lists/malware.hosts >/dev/null 2>&1
"$P" audit compile "$B" -o $T/audit.rules >/dev/null || fail "audit compile"
"$P" bundle --key $S/dev-keys/policy.key --version 1 --expires +30d --component blocklist=$T/idx \
	--component audit=$T/audit.rules -o $T/p1 >/dev/null
expect_rc "publish a bundle with blocklist and audit rules" 0 "$SRV" publish --dir $S $T/p1
"$FIX/audit/mkroot.sh" factory $T/root || fail "fixture root"
start_server $S || { fail "server starts"; done_testing; }
start_upstream $UP 1 || exit 1
chmod -R a+rX $T/dev
start_khiend -c $T/dev/khiend.json --listen 127.0.0.1:$DNS --upstream 127.0.0.1:$UP --user khien \
	--audit-root $T/root || { fail "khiend starts"; done_testing; }
expect_rc "first sync applies the policy" 0 ctl sync
for _ in $(seq 50); do [ "$(ctl audit --json | json_get /dev/stdin 'd["run"]')" -ge 1 ] 2>/dev/null && break; sleep 0.1; done
expect_rc "the audit has run (a check fails: exit 1)" 1 ctl audit --json
cp $T/out $T/dev1.json
expect_rc "a sync uploads the results" 0 ctl sync
"$SRV" audit --dir $S > $T/srv1.jsonl
n=$(json_get $T/dev1.json 'len(d["checks"])')
expect_eq "khien-server audit: one line per device and check" "$(wc -l < $T/srv1.jsonl)" "$n"
expect_eq "  with the device's results" \
	"$(python3 -c 'import json,sys; print(sorted((c["check"], c["result"], c["evidence"]) for c in map(json.loads, open(sys.argv[1]))))' $T/srv1.jsonl)" \
	"$(python3 -c 'import json,sys; print(sorted((c["id"], c["result"], c["evidence"]) for c in json.load(open(sys.argv[1]))["checks"]))' $T/dev1.json)"
expect_eq "  every line names the device" "$(python3 -c 'import json,sys; print({json.loads(l)["serial"] for l in open(sys.argv[1])})' $T/srv1.jsonl)" "{'SN-AUD-1'}"
expect_eq "--failing lists fail and error only" \
	"$("$SRV" audit --dir $S --failing | python3 -c 'import json,sys; print({json.loads(l)["result"] for l in sys.stdin})')" "{'fail'}"
expect_eq "--check picks one check" \
	"$("$SRV" audit --dir $S --check no-telnet | python3 -c 'import json,sys; print([(json.loads(l)["check"], json.loads(l)["result"]) for l in sys.stdin])')" \
	"[('no-telnet', 'fail')]"
"$SRV" devices --dir $S > $T/devs.jsonl
expect_eq "khien-server devices shows the audit summary and rules version" \
	"$(json_get $T/devs.jsonl 'd["audit"]["policy"], d["audit"]["version"], d["audit"]["fail"] + d["audit"]["pass"] + d["audit"]["na"] + d["audit"]["error"]')" \
	"khien-openwrt-baseline 1 $n"
expect_eq "khien-server compliance: per check, devices that pass and fail" \
	"$("$SRV" compliance --dir $S | python3 -c 'import json,sys; d={c["check"]: (c["pass"], c["fail"], c["devices"]) for c in map(json.loads, sys.stdin)}; print(d["no-telnet"], d["ntp-enabled"], len(d))')" \
	"(0, 1, 1) (1, 0, 1) $n"
operator $S GET "/v1/audit?device=SN-AUD-1&check=no-telnet" > $T/api1 2>/dev/null
expect_eq "GET /v1/audit (operator token)" "$(sed -n 1p $T/api1) $(sed 1d $T/api1 | json_get /dev/stdin '[(a["check"], a["result"]) for a in d["audit"]]')" "200 [('no-telnet', 'fail')]"
operator $S GET /v1/compliance > $T/api2 2>/dev/null
expect_eq "GET /v1/compliance" "$(sed -n 1p $T/api2) $(sed 1d $T/api2 | json_get /dev/stdin 'len(d["checks"])')" "200 $n"
as_device $S $T/dev GET /v1/audit > $T/api3 2>/dev/null
expect_eq "GET /v1/audit with a device certificate and no token is refused" "$(sed -n 1p $T/api3)" "401"
operator $S GET "/v1/audit?failing=yes" > $T/api4 2>/dev/null
expect_eq "GET /v1/audit?failing=yes is refused" "$(sed -n 1p $T/api4)" "400"
printf '{"policy": {"id": "x", "version": 1}, "digest": "%s", "full": true, "checks": [{"id": "Bad Id", "result": "pass", "severity": "low", "evidence": "", "changed_at": 0}]}' "$(printf '0%.0s' $(seq 64))" > $T/bad.json
as_device $S $T/dev POST /v1/audit --body $T/bad.json > $T/api5 2>/dev/null
expect_eq "a device's malformed upload is refused with the field's path" "$(sed -n 1p $T/api5) $(sed 1d $T/api5 | grep -o 'checks\[0\]' | head -1)" "400 checks[0]"
"$SRV" events --dir $S > $T/ev.jsonl
expect_eq "high and critical failures arrived as audit_failed events" \
	"$(python3 -c 'import json,sys; print(sorted(e["payload"]["check"] for e in map(json.loads, open(sys.argv[1])) if e["type"] == "audit_failed") == sorted(c["id"] for c in json.load(open(sys.argv[2]))["checks"] if c["result"] == "fail" and c["severity"] in ("high", "critical")))' $T/ev.jsonl $T/dev1.json)" "True"

# a fixed finding travels alone
rm -rf $T/root/proc/518
python3 - $T/root/proc/net/tcp <<'PY'
import sys
p = sys.argv[1]
lines = [l for l in open(p) if ":0017 " not in l]
open(p, "w").writelines(lines)
PY
sleep 1.1
ctl audit run >/dev/null
expect_rc "sync after the fix" 0 ctl sync
"$SRV" audit --dir $S > $T/srv2.jsonl
expect_eq "the server shows no-telnet passing" \
	"$("$SRV" audit --dir $S --check no-telnet | json_get /dev/stdin 'd["result"]')" "pass"
expect_eq "only that row was uploaded again (the others keep their updated_at)" \
	"$(python3 - $T/srv1.jsonl $T/srv2.jsonl <<'PY'
import json, sys
a = {r["check"]: r for r in map(json.loads, open(sys.argv[1]))}
b = {r["check"]: r for r in map(json.loads, open(sys.argv[2]))}
print(sorted(k for k in b if b[k]["updated_at"] != a[k]["updated_at"] or b[k]["result"] != a[k]["result"]))
PY
)" "['no-telnet']"

# the server loses its copy: the digests differ, the device sends all of it
store_sql $S "DELETE FROM audit WHERE check_id != 'no-ftp'"
expect_eq "  (the server now holds one row)" "$("$SRV" audit --dir $S | wc -l)" "1"
expect_rc "sync after the server lost rows" 0 ctl sync
expect_eq "the device sent the whole set again" "$("$SRV" audit --dir $S | wc -l)" "$n"
# a compromised device: unlimited new check ids are refused, and its severity cannot lower the fleet's
python3 - $T/flood.json <<'PY'
import json, sys
checks = [{"id": "fake-%03d" % i, "result": "pass", "severity": "low", "evidence": "", "changed_at": 0} for i in range(512)]
json.dump({"policy": {"id": "khien-openwrt-baseline", "version": 1}, "digest": "0" * 64, "full": False, "checks": checks}, open(sys.argv[1], "w"))
PY
as_device $S $T/dev POST /v1/audit --body $T/flood.json > $T/api6 2>/dev/null
expect_eq "a device may not grow its rows past 512 with new check ids" "$(sed -n 1p $T/api6)" "413"
expect_eq "  and nothing of that upload is stored" "$("$SRV" audit --dir $S | grep -c fake-)" "0"
"$SRV" provision --dir $S --device SN-AUD-2 --group home -o $T/dev2 >/dev/null || fail "provision 2"
printf '{"policy": {"id": "khien-openwrt-baseline", "version": 1}, "digest": "%s", "full": true, "checks": [{"id": "no-telnet", "result": "pass", "severity": "medium", "evidence": "", "changed_at": 0}]}' "$(printf '0%.0s' $(seq 64))" > $T/low.json
as_device $S $T/dev2 POST /v1/audit --body $T/low.json > $T/api7 2>/dev/null
expect_eq "a second device reports no-telnet as medium" "$(sed -n 1p $T/api7)" "200"
expect_eq "  the fleet view keeps the highest severity (ranked, not compared as text)" \
	"$("$SRV" compliance --dir $S | python3 -c 'import json,sys; print([(c["severity"], c["devices"]) for c in map(json.loads, sys.stdin) if c["check"] == "no-telnet"][0])')" "('critical', 2)"
done_testing
