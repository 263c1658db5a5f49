#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Events for the SOC, against the real server and a collector on loopback:
# `khien-server events --follow` prints what is stored, then what arrives;
# `khien-server forward` sends each event once as a syslog message (RFC
# 5424 with structured data, or CEF inside) over UDP or TCP, filtered by
# severity. A hostile device's fields cannot forge a message, a field or a
# structured-data element. While the collector is down nothing is lost: the
# events stay in the store and go out when it is back, and a restarted
# forwarder resumes from its saved position without sending any again.
. "$(dirname "$0")/lib.sh"
PORT=$(rand_port); UDP=$((PORT + 1)); TCP=$((PORT + 2))
S=$T/srv
COL=$KHIEN_TOP/tests/integration/collector.py
# collector PROTO PORT OUT: started in the background, returns once it listens
collector() {
	rm -f "$3.ready"
	python3 "$COL" "$1" "$2" "$3" &
	CPID=$!
	PIDS+=($CPID)
	for _ in $(seq 100); do [ -e "$3.ready" ] && return 0; sleep 0.05; done
	echo "# the $1 collector did not start"; return 1
}
# wait_lines FILE N: until the collector has written N messages (at most 5 s)
wait_lines() { for _ in $(seq 100); do [ "$(wc -l <"$1" 2>/dev/null || echo 0)" -ge "$2" ] && return 0; sleep 0.05; done; }

init_server $S $PORT || { fail "server init"; done_testing; }
"$SRV" provision --dir $S --device SN-FWD-1 -o $T/dev >/dev/null || fail "provision"
start_server $S || { fail "server runs"; done_testing; }
upload() { # SEQ SEVERITY TYPE [DATA-JSON]
	printf '{"events": [{"seq": %s, "time": %s, "type": "%s", "severity": "%s", "data": %s}], "dropped": 0}' \
		"$1" "$((1764655200 + $1))" "$3" "$2" "${4:-{\}}" >"$T/ev.json"
	as_device $S $T/dev POST /v1/events --body $T/ev.json | head -1
}
expect_eq "a device uploads an event" "$(upload 1 high dns_blocked '{"name": "evil.example", "category": "malware"}')" "200"
upload 2 low dns_blocked >/dev/null
# the hostile device (the API already keeps types to [a-z0-9_]): quotes, brackets,
# pipes, equals signs, a newline and a forged syslog header inside its data
expect_eq "a type outside [a-z0-9_] is refused at upload" "$(upload 9 high 'x\" y')" "400"
upload 3 critical hostile_one '{"name": "a\"] [forged@1 k=\"v\"] fake=1|x", "reason": "line1\nline2 <13>1 forged", "client": "t\u00ean"}' >/dev/null

# --- events --follow: what is stored, then what comes
"$SRV" events --dir $S --follow --interval-ms 100 >"$T/follow.out" 2>"$T/follow.err" &
FPID=$!
PIDS+=($FPID)
for _ in $(seq 50); do [ "$(wc -l <"$T/follow.out")" -ge 3 ] && break; sleep 0.1; done
expect_eq "events --follow prints the stored events" "$(wc -l <"$T/follow.out")" "3"
upload 4 medium audit_failed >/dev/null
for _ in $(seq 50); do [ "$(wc -l <"$T/follow.out")" -ge 4 ] && break; sleep 0.1; done
expect_eq "... and one that arrives later, as a JSON line" \
	"$(tail -1 "$T/follow.out" | json_get /dev/stdin '(d["seq"], d["type"], d["severity"])')" "(4, 'audit_failed', 'medium')"
expect_eq "... each once" "$(json_get "$T/follow.out" 'd["id"]' 2>/dev/null | sort | uniq -d | wc -l)" "0"
kill $FPID 2>/dev/null; wait $FPID 2>/dev/null
"$SRV" events --dir $S --follow --min-severity critical --interval-ms 100 >"$T/crit.out" 2>&1 &
FPID=$!; PIDS+=($FPID)
sleep 1; kill $FPID 2>/dev/null; wait $FPID 2>/dev/null
expect_eq "--min-severity critical: only the critical event" "$(json_get "$T/crit.out" 'd["seq"]')" "3"

# --- forward over UDP, RFC 5424
collector udp $UDP "$T/udp.hex"
"$SRV" forward --dir $S --to udp://127.0.0.1:$UDP --once >"$T/fw.out" 2>"$T/fw.err" ||
	{ fail "forward --once over UDP"; sed 's/^/#  /' "$T/fw.err"; }
wait_lines "$T/udp.hex" 4
msgs() { python3 -c 'import sys; [print(bytes.fromhex(l.strip()).decode("utf-8", "replace")) for l in open(sys.argv[1])]' "$1"; }
msgs "$T/udp.hex" >"$T/udp.txt"
expect_eq "forward --once sends each of the 4 events once" "$(wc -l <"$T/udp.txt")" "4"
grep -q "forwarded 4 events" "$T/fw.err" && ok "... and says how many" || { fail "forward summary"; cat "$T/fw.err"; }
first=$(sed -n 1p "$T/udp.txt")
[[ "$first" == "<131>1 20"*"Z "*" khien-server "*" dns_blocked [khien@32473 id=\""*"\" device=\"SN-FWD-1\" seq=\"1\" severity=\"high\" time=\"2025-12-02T06:00:01Z\"] {"* ]] &&
	ok "an RFC 5424 message: PRI (local0, err), timestamp, app, MSGID, structured data, JSON" ||
	fail "RFC 5424 message: $first"
python3 - "$T/udp.txt" <<'PY' && ok "the hostile device forged no field, element or line (a strict RFC 5424 parse)" || fail "hostile fields"
import json, re, sys
for line in open(sys.argv[1], encoding="utf-8"):
    line = line.rstrip("\n")
    m = re.fullmatch(r'<(\d+)>1 (\S+) (\S+) khien-server (\d+) ([!-~]{1,32}) \[khien@32473((?: [a-z]+="(?:[^"\\\]]|\\.)*")+)\] (.*)', line)
    assert m, line
    params = re.findall(r' ([a-z]+)="((?:[^"\\\]]|\\.)*)"', m.group(6))
    assert [p[0] for p in params] == ["id", "device", "seq", "severity", "time"], params
    ev = json.loads(m.group(7))
    if ev["seq"] == 3:
        assert m.group(5) == "hostile_one", m.group(5)
        assert ev["payload"]["reason"] == "line1\nline2 <13>1 forged"  # only inside the JSON
        assert ev["payload"]["client"] == "t\u00ean"
    assert all(ord(c) >= 32 for c in line)
PY

# --- CEF over TCP; severity filter; the collector down, then back; resume from --state
collector tcp $TCP "$T/tcp.hex"
"$SRV" forward --dir $S --to tcp://127.0.0.1:$TCP --format cef --min-severity high \
	--state "$T/fwd.state" --once 2>"$T/fw2.err" || { fail "forward CEF over TCP"; cat "$T/fw2.err"; }
wait_lines "$T/tcp.hex" 2
msgs "$T/tcp.hex" >"$T/tcp.txt"
expect_eq "CEF over TCP, --min-severity high: the high and the critical event" "$(wc -l <"$T/tcp.txt")" "2"
grep -q "BAD" "$T/tcp.txt" && fail "octet-counted frames" || ok "every TCP frame is octet-counted (RFC 6587)"
grep -q ' - CEF:0|Khien|khien-server|[^|]*|dns_blocked|dns_blocked|8|rt=[0-9]* deviceExternalId=SN-FWD-1 ' "$T/tcp.txt" &&
	ok "a CEF record: vendor, product, class, severity 8, device" || { fail "CEF record"; head -1 "$T/tcp.txt"; }
python3 - "$T/tcp.txt" <<'PY' && ok "the hostile device's fields stay inside theirs (CEF escaping)" || fail "CEF escaping"
import re, sys
lines = open(sys.argv[1], encoding="utf-8").read().splitlines()
h = [l for l in lines if "|hostile_one|" in l]
assert len(h) == 1, lines
ext = h[0].split("|", 7)[7]
# split on unescaped '=': every key must be one we write
keys = re.findall(r'(?:^| )([A-Za-z0-9]+)=', re.sub(r'\\.', '__', ext))
assert set(keys) <= {"rt", "deviceExternalId", "externalId", "cn1", "cn1Label", "dhost", "cat", "reason", "cs1", "cs1Label", "cs2", "cs2Label", "cs3", "cs3Label"}, keys
assert "dhost=a\"] [forged@1 k\\=\"v\"] fake\\=1|x" in ext, ext
assert "reason=line1\\nline2 <13>1 forged" in ext, ext
PY
expect_eq "--state keeps the position" "$(cat "$T/fwd.state")" "$(store_sql $S 'SELECT max(id) FROM events')"
kill $CPID 2>/dev/null; wait $CPID 2>/dev/null
# the collector is down: the forwarder keeps trying; events arrive meanwhile
"$SRV" forward --dir $S --to tcp://127.0.0.1:$TCP --format cef --min-severity high \
	--state "$T/fwd.state" --interval-ms 100 2>"$T/fw3.err" & WPID=$!; PIDS+=($WPID)
upload 5 high dns_blocked '{"name": "during-outage.example"}' >/dev/null
upload 6 critical dns_blocked '{"name": "during-outage-2.example"}' >/dev/null
sleep 1.5
grep -q "retrying" "$T/fw3.err" && ok "the collector down: the forwarder says so and retries" || { fail "outage message"; cat "$T/fw3.err"; }
: >"$T/tcp.hex"
collector tcp $TCP "$T/tcp.hex"
for _ in $(seq 80); do [ "$(wc -l <"$T/tcp.hex")" -ge 2 ] && break; sleep 0.1; done
msgs "$T/tcp.hex" >"$T/tcp2.txt"
expect_eq "when it is back, both events of the outage arrive, and nothing older again" \
	"$(grep -o 'dhost=[a-z0-9.-]*' "$T/tcp2.txt" | tr '\n' ' ')" "dhost=during-outage.example dhost=during-outage-2.example "
grep -q "reachable again" "$T/fw3.err" && ok "... and the forwarder says it is reachable again" || fail "recovery message"
kill $WPID 2>/dev/null; wait $WPID 2>/dev/null
upload 7 high dns_blocked '{"name": "after-restart.example"}' >/dev/null
"$SRV" forward --dir $S --to tcp://127.0.0.1:$TCP --format cef --min-severity high \
	--state "$T/fwd.state" --once 2>"$T/fw4.err"
wait_lines "$T/tcp.hex" 3
expect_eq "a restarted forwarder resumes from --state: only the new event" \
	"$(msgs "$T/tcp.hex" | grep -o 'dhost=[a-z0-9.-]*' | tail -n +3 | tr '\n' ' ')" "dhost=after-restart.example "
# usage errors
expect_rc "forward without --to: usage (2)" 2 "$SRV" forward --dir $S
expect_rc "forward to a host name: usage (2)" 2 "$SRV" forward --dir $S --to udp://collector.example:514
expect_rc "an unknown --format: usage (2)" 2 "$SRV" forward --dir $S --to udp://127.0.0.1:1 --format leef
echo garbage >"$T/bad.state"
expect_rc "a damaged --state file: refused (1), not silently restarted from 0" 1 \
	"$SRV" forward --dir $S --to udp://127.0.0.1:$UDP --state "$T/bad.state" --once
stop_server
done_testing
