#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# A device with several servers (report.urls, docs/CONFIG.md): two
# khien-server instances of one fleet (copies of one instance: on SQLite
# each with a store of its own, with KHIEN_TEST_DB=pg on one PostgreSQL
# database). The first is killed: the device's queued events reach the
# second in the same sync, none lost and none twice. Both down: the sync
# fails, backs off and keeps the events until the first returns. A device
# that failed over goes back to the first server after report.failback_s.
# A server that takes the connection but never speaks TLS is left after
# the connect deadline.
. "$(dirname "$0")/lib.sh"
P=$KHIEN_BUILD/khien-policy
PORT=$(rand_port); P2=$((PORT + 1)); UP=$((PORT + 2)); DNS=$((PORT + 3)); HOLE=$((PORT + 4))
for i in $(seq 100); do echo "fo-$i.example"; done > $T/threats.txt
"$P" compile -q -o $T/idx --list malware=$T/threats.txt >/dev/null 2>&1
init_server $T/i1 $PORT || { fail "server init"; done_testing; }
"$P" bundle --key $T/i1/dev-keys/policy.key --version 1 --expires +30d --component blocklist=$T/idx -o $T/p1 >/dev/null
"$SRV" publish --dir $T/i1 $T/p1 >/dev/null || fail "publish"
"$SRV" provision --dir $T/i1 --device SN-FO-1 -o $T/dev >/dev/null || fail "provision"
cp -r $T/i1 $T/i2
py "json.dump(dict(json.load(open('$T/i2/server.json')), url='https://127.0.0.1:$P2', listen='127.0.0.1:$P2'), open('$T/i2/server.json', 'w'))"
U1=https://127.0.0.1:$PORT U2=https://127.0.0.1:$P2
# the provisioned file names one url: a list of two replaces it
py "json.dump({**json.load(open('$T/dev/khiend.json')), 'report': {**{k: v for k, v in json.load(open('$T/dev/khiend.json'))['report'].items() if k != 'url'}, 'urls': ['$U1', '$U2'], 'failback_s': 10}}, open('$T/dev/khiend.json', 'w'))"
chmod -R a+rX $T/dev
start_upstream $UP 1 || exit 1
start_server $T/i1 || { fail "instance 1 runs"; done_testing; }
S1=$SPID
start_server $T/i2 || { fail "instance 2 runs"; done_testing; }
S2=$SPID
start_khiend -c $T/dev/khiend.json --listen 127.0.0.1:$DNS --upstream 127.0.0.1:$UP \
	--user khien --state-dir $T/state || { fail "khiend starts"; done_testing; }
sync() { "$KHIEN_BUILD/khienctl" --control $CTL sync; }
rep() { ctl status | json_get /dev/stdin "$1"; }
qn=0
q() { qn=$((qn + 1)); dig +time=2 +tries=1 -b 127.0.$((qn / 200)).$((qn % 200 + 2)) @127.0.0.1 -p $DNS "$1" >/dev/null; }
# every event the fleet's store(s) hold, as sorted seqs: one store on PostgreSQL, two on SQLite
seqs() {
	{ "$SRV" events --dir $T/i1 --device SN-FO-1; [ "$KHIEN_TEST_DB" = pg ] || "$SRV" events --dir $T/i2 --device SN-FO-1; } |
		py "sorted(json.loads(l)['seq'] for l in sys.stdin)"
}

sync > $T/s1 || fail "first sync: $(cat $T/s1)"
expect_eq "the first sync goes to the first server" "$(rep 'd["report"]["server"]'):$(rep 'd["report"]["servers"]')" "$U1:['$U1', '$U2']"
expect_eq "  (the device is on policy 1)" "$(rep 'd["policy"]["version"]')" "1"
for i in $(seq 1 20); do q fo-$i.example; done
sync >/dev/null
expect_eq "20 events reach the first server" "$(seqs)" "$(py 'list(range(1, 21))')"

# the first instance dies (SIGKILL: no goodbye); events wait, then the same sync fails over
for i in $(seq 21 50); do q fo-$i.example; done
kill -9 $S1; wait $S1 2>/dev/null
sync > $T/s2 || fail "sync with the first server dead: $(cat $T/s2)"
expect_eq "the same sync goes through the second server" "$(rep '(d["report"]["server"], d["report"]["failovers"], d["report"]["failures_in_a_row"])')" "('$U2', 1, 0)"
grep -q "sync with $U1 failed: .*; trying $U2" $T/khiend.log && ok "  and the log says why it left the first" || fail "no failover line in the log"
# TLS session tickets are sealed under keys in the store: one store, one key
if [ "$KHIEN_TEST_DB" = pg ]; then
	expect_eq "  resuming the TLS session the first instance made (ticket keys in the shared store)" "$(grep -c 'resumed session' $T/s2)" "1"
else
	expect_eq "  with a full handshake: a store of its own, a ticket key the first's ticket is not under" "$(grep -c 'resumed session' $T/s2)" "0"
fi
expect_eq "every event arrived exactly once across the failover" "$(seqs)" "$(py 'list(range(1, 51))')"
expect_eq "  and the queue is empty" "$(rep 'd["report"]["queue"]["pending"]')" "0"
for i in $(seq 51 60); do q fo-$i.example; done
sync >/dev/null
expect_eq "the next sync stays on the second server" "$(rep '(d["report"]["server"], d["report"]["failovers"])')" "('$U2', 1)"

# both down: the sync fails after trying each once, backs off, keeps the events
kill $S2; wait $S2 2>/dev/null
for i in $(seq 61 80); do q fo-$i.example; done
expect_rc "with every server down the sync fails" 1 "$KHIEN_BUILD/khienctl" --control $CTL sync
expect_eq "  after trying both (one failure in a row, a backoff)" "$(rep '(d["report"]["failures_in_a_row"], d["report"]["next_sync_s"] >= 1, d["report"]["failovers"])')" "(1, True, 2)"
expect_eq "  and the 20 new events wait in the queue" "$(rep 'd["report"]["queue"]["pending"]')" "20"
expect_eq "  the next sync starts again at the first server" "$(rep 'd["report"]["server"]')" "$U1"
start_server $T/i1 || fail "instance 1 returns"
S1=$SPID
sync > $T/s3 || fail "sync after the outage: $(cat $T/s3)"
expect_eq "the first server gets them when it returns" "$(rep '(d["report"]["server"], d["report"]["queue"]["pending"])')" "('$U1', 0)"
expect_eq "nothing lost, nothing twice, through both outages" "$(seqs)" "$(py 'list(range(1, 81))')"

# failback: on the second server, then back to the first after failback_s (10 s)
start_server $T/i2 || fail "instance 2 returns"
S2=$SPID
kill -9 $S1; wait $S1 2>/dev/null
sync >/dev/null || fail "failover again"
expect_eq "on the second server again" "$(rep 'd["report"]["server"]')" "$U2"
start_server $T/i1 || fail "instance 1 returns again"
S1=$SPID
sync >/dev/null
expect_eq "  and it stays there before failback_s" "$(rep 'd["report"]["server"]')" "$U2"
sleep 10
for i in $(seq 81 85); do q fo-$i.example; done
sync >/dev/null || fail "sync after failback_s"
expect_eq "after failback_s the device is back on the first server" "$(rep '(d["report"]["server"], d["report"]["queue"]["pending"])')" "('$U1', 0)"
grep -q "trying the first server again" $T/khiend.log && ok "  and says so" || fail "no failback line"
# the first instance restarts: its ticket key is in the store, so the session resumes
sync >/dev/null
kill $S1; wait $S1 2>/dev/null
start_server $T/i1 || fail "instance 1 restarts"
S1=$SPID
sync > $T/s5 || fail "sync after the restart: $(cat $T/s5)"
expect_eq "after a server restart the device resumes its TLS session (no full handshake)" "$(grep -c 'resumed session' $T/s5):$(rep 'd["report"]["server"]')" "1:$U1"
expect_eq "still every event exactly once" "$(seqs)" "$(py 'list(range(1, 86))')"
stop_khiend

# a first server that takes the TCP connection and never answers: left after the connect deadline
/usr/bin/python3 -c "
import socket, time
s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(('127.0.0.1', $HOLE)); s.listen(16); held = []
while True: held.append(s.accept()[0])" &
PIDS+=($!)
for _ in $(seq 50); do (echo > /dev/tcp/127.0.0.1/$HOLE) 2>/dev/null && break; sleep 0.1; done
py "json.dump({**json.load(open('$T/dev/khiend.json')), 'report': {**json.load(open('$T/dev/khiend.json'))['report'], 'urls': ['https://127.0.0.1:$HOLE', '$U1']}}, open('$T/dev/khiend.json', 'w'))"
start_khiend -c $T/dev/khiend.json --listen 127.0.0.1:$DNS --upstream 127.0.0.1:$UP \
	--user khien --state-dir $T/state || { fail "khiend restarts"; done_testing; }
for i in $(seq 86 90); do q fo-$i.example; done
t0=$(date +%s)
sync > $T/s4 || fail "sync past a silent server: $(cat $T/s4)"
dt=$(($(date +%s) - t0))
expect_eq "a silent first server is left after the 10 s connect deadline (took ${dt} s)" "$([ $dt -ge 9 ] && [ $dt -le 20 ] && echo yes):$(rep 'd["report"]["server"]')" "yes:$U1"
grep -q "no TLS connection within 10 s" $T/khiend.log && ok "  saying so" || fail "no connect-deadline line"
expect_eq "and the events arrive" "$(seqs)" "$(py 'list(range(1, 91))')"
stop_khiend
cleanup_pids
done_testing
