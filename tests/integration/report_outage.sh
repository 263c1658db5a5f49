#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Nothing is lost across a server outage: events generated while the
# server is down wait in the agent's persistent queue through a crash
# (SIGKILL) and a restart of the agent, and arrive exactly once when the
# server returns. With a small queue, low-severity events are dropped
# before high-severity ones and the number dropped reaches the server.
. "$(dirname "$0")/lib.sh"
P=$KHIEN_BUILD/khien-policy
PORT=$(rand_port); UP=$((PORT + 1)); DNS=$((PORT + 2))
S=$T/srv
for i in $(seq 60); do echo "outage-$i.example"; done > $T/threats.txt
for i in $(seq 20); do echo "bet-$i.example"; done > $T/bets.txt
"$P" compile -q -o $T/idx --list malware=$T/threats.txt --list gambling=$T/bets.txt >/dev/null 2>&1
init_server $S $PORT || { fail "server init"; done_testing; }
# one request per connection: the agent must reconnect between check-in,
# each event batch and the download (Connection: close)
python3 - "$S/server.json" <<'PY'
import json, sys
c = json.load(open(sys.argv[1])); c["max_requests_per_connection"] = 1
json.dump(c, open(sys.argv[1], "w"))
PY
"$P" bundle --key $S/dev-keys/policy.key --version 1 --expires +30d --component blocklist=$T/idx -o $T/p1 >/dev/null
"$SRV" publish --dir $S $T/p1 >/dev/null || fail "publish"
for d in 1 2; do "$SRV" provision --dir $S --device SN-OUT-$d -o $T/dev$d >/dev/null || fail "provision"; done
# device 2: a queue of 16 events, and gambling hits reported too (as low severity)
python3 - "$T/dev2/khiend.json" <<'PY'
import json, sys
c = json.load(open(sys.argv[1]))
c["report"]["queue_events"] = 16
c["dns"] = {"categories": {"gambling": {"event": True}}}
json.dump(c, open(sys.argv[1], "w"))
PY
chmod -R a+rX $T/dev1 $T/dev2
start_upstream $UP 1 || exit 1
start_server $S || { fail "server starts"; done_testing; }
agent() { # DEV [args]: start khiend for device DEV (state kept in $T/state-DEV)
	local d=$1
	shift
	start_khiend -c $T/dev$d/khiend.json --listen 127.0.0.1:$DNS --upstream 127.0.0.1:$UP \
		--user khien --state-dir $T/state-$d "$@"
}
sync() { "$KHIEN_BUILD/khienctl" --control $CTL sync; }
pending() { ctl status | json_get /dev/stdin 'd["report"]["queue"]["pending"]'; }
# each query from a client of its own: one client's rate limit is event_flood.sh's subject
qn=0
q() { qn=$((qn + 1)); dig +time=2 +tries=1 -b 127.0.$((qn / 200)).$((qn % 200 + 2)) @127.0.0.1 -p $DNS "$1" >/dev/null; }

agent 1 || { fail "khiend starts"; done_testing; }
sync >/dev/null
expect_eq "device 1 is on policy 1" "$(ctl status | json_get /dev/stdin 'd["policy"]["version"]')" "1"

stop_server
for i in $(seq 1 30); do q outage-$i.example; done
expect_rc "sync while the server is down fails, with a reason" 1 "$KHIEN_BUILD/khienctl" --control $CTL sync
grep -q "connect\|closed\|refused" "$T/err" && ok "reason: $(head -c 80 $T/err)" || fail "reason: $(cat $T/err)"
expect_eq "30 events wait in the queue" "$(pending)" "30"
expect_eq "the failure backs off (failures in a row)" "$(ctl status | json_get /dev/stdin 'd["report"]["failures_in_a_row"] >= 1 and d["report"]["next_sync_s"] >= 1')" "True"
epid=$(engine_pid)
kill -9 $KPID; wait $KPID 2>/dev/null
# the engine dies with its parent (PDEATHSIG), but not at once: it holds port 53 until then
for _ in $(seq 100); do kill -0 "$epid" 2>/dev/null || break; sleep 0.05; done
agent 1 || fail "khiend restarts after SIGKILL"
expect_eq "after a crash the 30 events are still queued" "$(pending)" "30"
for i in $(seq 31 60); do q outage-$i.example; done
stop_khiend
agent 1 || fail "khiend restarts"
expect_eq "after a clean restart, 60 are queued" "$(pending)" "60"
start_server $S || fail "server restarts"
sync >/dev/null || fail "sync after the outage"
"$SRV" events --dir $S --device SN-OUT-1 > $T/ev1
expect_eq "every event arrived exactly once" \
	"$(py "sorted(json.loads(l)['seq'] for l in open('$T/ev1')) == list(range(1, 61)) and len({json.loads(l)['payload']['name'] for l in open('$T/ev1')}) == 60")" "True"
expect_eq "and the queue is empty" "$(pending)" "0"
sync >/dev/null
expect_eq "another sync adds nothing" "$("$SRV" events --dir $S --device SN-OUT-1 | wc -l)" "60"
stop_khiend

# the device's state is wiped (factory reset): it boots on its factory policy
# and its new journal numbers from 1 again, below what the server holds;
# nothing may be taken for a duplicate
rm -rf $T/state-1
stop_server
chmod a+r $T/p1
agent 1 --bundle $T/p1 || fail "khiend starts on a wiped state"
for i in 1 2 3; do q outage-$i.example; done
start_server $S || fail "server restarts"
sync > $T/wipe.out || { fail "sync after the wipe"; cat $T/wipe.out; sed 's/^/#   /' $T/khiend.log | tail; }
"$SRV" events --dir $S --device SN-OUT-1 > $T/ev1b
grep -q "renumbering 3 queued" $T/khiend.log && ok "the agent says it renumbers" || fail "no renumbering"
expect_eq "after a state wipe, new events are renumbered above the server's and stored" \
	"$(py "[json.loads(l)['seq'] for l in open('$T/ev1b')][60:]")" "[61, 62, 63]"
expect_eq "queue empty again" "$(pending)" "0"
stop_khiend

# device 2: a bounded queue during an outage drops low severity first, and
# says so: lows 17-20 find it full of lows (the newcomer goes), then each
# high pushes out the oldest low
agent 2 || { fail "device 2 starts"; done_testing; }
sync >/dev/null
stop_server
for i in $(seq 1 20); do q bet-$i.example; done      # low severity
for i in $(seq 1 10); do q outage-$i.example; done   # high severity
ctl status > $T/st2
expect_eq "queue holds 16: all 10 high and 6 low" "$(json_get $T/st2 '(d["report"]["queue"]["pending"], d["report"]["queue"]["dropped"])')" \
	"(16, {'low': 14, 'medium': 0, 'high': 0, 'critical': 0})"
start_server $S || fail "server restarts"
sync >/dev/null
"$SRV" events --dir $S --device SN-OUT-2 > $T/ev2
expect_eq "the server got the high ones and the low ones that stayed (at equal severity the first stay)" \
	"$(py "sorted((json.loads(l)['severity'], json.loads(l)['payload']['name']) for l in open('$T/ev2'))[:1] + [sum(json.loads(l)['severity'] == 'high' for l in open('$T/ev2')), sorted(int(json.loads(l)['payload']['name'].split('-')[1].split('.')[0]) for l in open('$T/ev2') if 'bet-' in l)]")" \
	"[('high', 'outage-1.example'), 10, [11, 12, 13, 14, 15, 16]]"
expect_eq "and the device's drop count" "$("$SRV" devices --dir $S | py "[d['events_dropped'] for d in map(json.loads, sys.stdin) if d['serial'] == 'SN-OUT-2']")" "[14]"
stop_khiend
stop_server
done_testing
