#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# A device cannot fill the server's store: events are counted per device and
# window, the excess is refused (429 with Retry-After, not stored), the
# operator sees the refusals, and other devices are unaffected. A real
# khiend over its quota keeps its queue and waits as told.
. "$(dirname "$0")/lib.sh"
P=$KHIEN_BUILD/khien-policy
PORT=$(rand_port); UP=$((PORT + 1)); DNS=$((PORT + 2))
S=$T/srv
init_server $S $PORT || { fail "server init"; done_testing; }
quota() { # EVENTS BYTES: the server's per-device quota per 60 s
	python3 - "$S/server.json" "$1" "$2" <<'PY'
import json, sys
c = json.load(open(sys.argv[1]))
c.update(event_quota_window_s=60, event_quota_events=int(sys.argv[2]), event_quota_bytes=int(sys.argv[3]))
json.dump(c, open(sys.argv[1], "w"))
PY
}
quota 300 1000000
for d in flood calm big agent; do "$SRV" provision --dir $S --device SN-$d -o $T/$d >/dev/null || fail "provision $d"; done
start_server $S || { fail "server starts"; done_testing; }
batch() { # FIRST N DATA_BYTES: a batch of N events numbered from FIRST
	python3 -c 'import json, sys
f, n, b = map(int, sys.argv[1:])
print(json.dumps({"events": [{"seq": f + i, "time": 1, "type": "dns_blocked", "severity": "high",
                  "data": {"name": "x%d.flood.example" % (f + i), "pad": "p" * b}} for i in range(n)]}))' "$@"
}
stored() { "$SRV" events --dir $S --device $1 | wc -l; }
dev_json() { "$SRV" devices --dir $S | python3 -c 'import json, sys
for l in sys.stdin:
    d = json.loads(l)
    if d["serial"] == sys.argv[1]: print(eval(sys.argv[2]))' "$@"; }

# SN-flood uploads 1000 events in batches of 100 as fast as it can
codes=""
for i in $(seq 0 9); do
	batch $((i * 100 + 1)) 100 100 > $T/b.json
	as_device $S $T/flood POST /v1/events --body $T/b.json > $T/up.$i
	codes="$codes $(head -1 $T/up.$i)"
done
expect_eq "the first 300 are taken, then the device is refused" "$codes" " 200 200 200 429 429 429 429 429 429 429"
expect_eq "the refusal says why and when to come back" \
	"$(sed 1d $T/up.3 | json_get /dev/stdin '(d["error"].split(":")[0], d["stored"], d["refused"], d["acked"], 0 < d["retry_after_s"] <= 60)')" \
	"('over quota', 0, 100, 300, True)"
expect_eq "the store holds the quota, no more" "$(stored SN-flood)" "300"
expect_eq "the operator sees the refused count and the window (khien-server devices)" \
	"$(dev_json SN-flood '(d["events_refused"], d["event_quota"]["events"], d["event_quota"]["refused"], d["event_quota"]["window_end"] - d["event_quota"]["window_start"])')" \
	"(700, 300, 700, 60)"
operator $S GET /v1/admin/devices > $T/devs
expect_eq "and in the operator API" \
	"$(sed 1d $T/devs | python3 -c 'import json, sys; print([d["events_refused"] for d in json.load(sys.stdin)["devices"] if d["serial"] == "SN-flood"])')" \
	"[700]"
batch 1 100 100 > $T/c.json
expect_eq "another device is unaffected" "$(as_device $S $T/calm POST /v1/events --body $T/c.json | sed 1d | json_get /dev/stdin 'd["stored"]')" "100"
expect_eq "its events are all stored" "$(stored SN-calm)" "100"

# bytes: 64 KiB per window, events of ~2 KiB
stop_server; quota 10000 65536; start_server $S || fail "server restarts"
batch 1 100 1900 > $T/big.json
as_device $S $T/big POST /v1/events --body $T/big.json > $T/big.out
expect_eq "a device over its byte quota: 429, part stored" \
	"$(head -1 $T/big.out) $(sed 1d $T/big.out | json_get /dev/stdin '(d["stored"] + d["refused"], 0 < d["stored"] < 100)')" "429 (100, True)"
expect_eq "what it stored fits in the byte quota" \
	"$("$SRV" events --dir $S --device SN-big | python3 -c 'import json, sys
print(sum(len(e["type"]) + len(json.dumps(e["payload"], separators=(",", ":"))) for e in map(json.loads, sys.stdin)) <= 65536)')" "True"

# a real agent over its quota (1 event a window): it keeps the rest queued and waits
stop_server; quota 1 65536; start_server $S || fail "server restarts"
start_upstream $UP 1 || fail "upstream"
"$P" compile -q -o $T/idx --list malware=$FIX/lists/malware.hosts >/dev/null 2>&1
chmod -R a+rX $T/agent $T/idx
start_khiend -c $T/agent/khiend.json --index $T/idx --listen 127.0.0.1:$DNS --upstream 127.0.0.1:$UP \
	--user khien || { fail "khiend starts"; done_testing; }
# three clients: one client's names under one rule would be one event a minute
c=1
for n in www tracker cdn; do c=$((c + 1)); dig +time=3 +tries=1 -b 127.0.0.$c @127.0.0.1 -p $DNS $n.malware-c2.example >/dev/null; done
ctl sync > $T/sync.out 2>&1
ctl status > $T/st.json
expect_eq "the agent's sync is refused over quota" \
	"$(json_get $T/st.json '("HTTP 429" in d["report"]["last_result"], "over quota" in d["report"]["last_result"])')" "(True, True)"
expect_eq "the server stored one of its events" "$(stored SN-agent)" "1"
expect_eq "the agent drops nothing: all three still queued (the stored one is acked at the next check-in)" \
	"$(json_get $T/st.json 'd["report"]["queue"]["pending"]')" "3"
expect_eq "and waits as told (Retry-After), not its short backoff" "$(json_get $T/st.json 'd["report"]["next_sync_s"] > 30')" "True"
ctl sync > $T/sync.out 2>&1 # asked by hand, within the window
ctl status > $T/st.json
expect_eq "the next check-in acknowledges the stored one; the other two stay queued, refused again" \
	"$(json_get $T/st.json '(d["report"]["queue"]["pending"], "HTTP 429" in d["report"]["last_result"])') $(stored SN-agent)" "(2, True) 1"
expect_eq "the operator sees its refusals" "$(dev_json SN-agent 'd["events_refused"]')" "4"
stop_khiend
kill -0 $SPID && ok "server process alive" || fail "server died"
stop_server
done_testing
