#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# No one client takes khien-server away from the fleet. One device
# certificate opens many idle TLS connections (and so does a revoked one):
# the device keeps at most max_connections_per_device, the revoked
# certificate counts for nothing and makes room first, and another device
# and the operator still get in; a server full of admitted devices still
# lets a newcomer and the operator in. A device that holds its uploads
# open delays only itself, not the devices that shared its slots before
# (slots were per bucket of serials).
. "$(dirname "$0")/lib.sh"
PORT=$(rand_port)
S=$T/srv
HOLD="/usr/bin/python3 $(dirname "$0")/tls_hold.py"
init_server $S $PORT || { fail "server init"; done_testing; }
python3 - "$S/server.json" <<'PY'
import json, sys
c = json.load(open(sys.argv[1]))
c.update(max_connections=16, max_connections_per_device=4, idle_timeout_ms=20000)
json.dump(c, open(sys.argv[1], "w"))
PY
# SN-slow and a serial that shared its upload bucket (FNV-1a 32 mod 1024, as
# the server once counted upload slots)
fnv() { python3 -c 'import sys
h = 2166136261
for b in sys.argv[1].encode(): h = ((h ^ b) * 16777619) & 0xffffffff
print(h % 1024)' "$1"; }
slow_bucket=$(fnv SN-slow)
for i in $(seq 100000); do [ "$(fnv SN-n$i)" = "$slow_bucket" ] && { NEIGHBOUR=SN-n$i; break; }; done
"$SRV" provision --dir $S --device SN-slow -o $T/slow >/dev/null || fail "provision slow"
"$SRV" provision --dir $S --device $NEIGHBOUR -o $T/neighbour >/dev/null || fail "provision $NEIGHBOUR"
for d in a b r c1 c2 c3 c4; do "$SRV" provision --dir $S --device SN-$d -o $T/$d >/dev/null || fail "provision $d"; done
"$SRV" revoke --dir $S --device SN-r >/dev/null || fail "revoke"
start_server $S || { fail "server starts"; done_testing; }
echo '{"firmware": "t", "hardware_id": "t", "policy": {"version": 0}}' > $T/checkin.json
checkin() { as_device $S $T/$1 POST /v1/checkin --body $T/checkin.json 2>/dev/null | head -1; }

# hold NAME N DEVDIR|- [SEND]: N idle connections in the background (each
# sends the file SEND first, if given), until $T/go
HOLDERS=()
hold() {
	local name=$1 n=$2 dev=$3 id=()
	[ "$dev" != - ] && id=($T/$dev/device.pem $T/$dev/device.key ${4:-})
	$HOLD $PORT $S/server-ca.pem $n $T/$name.ready $T/go "${id[@]}" > $T/$name.out 2>&1 &
	PIDS+=($!)
	HOLDERS+=($!)
	for _ in $(seq 200); do [ -e $T/$name.ready ] && return 0; sleep 0.05; done
	fail "$name: connections not opened"
}

hold a 30 a
hold r 30 r
expect_eq "another device checks in while one certificate holds connections" "$(checkin b)" "200"
expect_eq "and the operator API answers" "$(operator $S GET /v1/admin/devices 2>/dev/null | head -1)" "200"
touch $T/go
wait "${HOLDERS[@]}"
HOLDERS=()
read -r _ k _ _ < $T/a.out
[ "${k:-99}" -le 4 ] && ok "the flooding device keeps at most 4 connections ($(cat $T/a.out))" ||
	fail "the flooding device keeps at most 4 connections ($(cat $T/a.out))"
grep -q "SN-a: 4 connections, the most one device may hold" $T/server.log &&
	ok "the per-device cap is logged" || fail "the per-device cap is logged"
# client problem reports are rate-limited (20 a second): the flood above may have
# used this second's; in a new one, this check-in's report is logged whatever the timing
sleep 1.1
expect_eq "a request on a revoked certificate's connection: 403" "$(checkin r)" "403"
# (its flood connections may all have been closed mid-handshake to make room: the
# check-in above completes one, so the line is there)
grep -q "SN-r: certificate not admitted" $T/server.log &&
	ok "the revoked certificate is not counted as a device" || fail "revoked certificate log"

# a server full of admitted devices (4 x 4 connections): the operator and
# a newcomer get in, each by closing one connection of a device holding the most
rm -f $T/go
for d in c1 c2 c3 c4; do hold $d 4 $d; done
expect_eq "16 connections of admitted devices fill the server; the operator API answers" \
	"$(operator $S GET /v1/admin/devices 2>/dev/null | head -1)" "200"
hold b 1 b # full again
expect_eq "and another device checks in" "$(checkin b)" "200"
touch $T/go
wait "${HOLDERS[@]}"
expect_eq "the room was made by closing one connection of a device holding the most, twice" \
	"$(cat $T/c?.out | awk '{n += $2; if ($2 < 3) low = 1} END {print n, low + 0}') $(cat $T/b.out)" \
	"14 0 open 1 of 1"

# SN-slow starts two uploads and never finishes them: both its slots held
printf 'POST /v1/events HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 200000\r\n\r\n{"events": [' > $T/slow.req
rm -f $T/go
hold slow 2 slow $T/slow.req
sleep 0.3 # the server has read both heads
echo '{"events": [{"seq": 1, "time": 1, "type": "x", "severity": "low"}]}' > $T/ev1.json
expect_eq "the slow uploader's third upload: 429 (two in flight per device)" \
	"$(as_device $S $T/slow POST /v1/events --body $T/ev1.json 2>/dev/null | head -1)" "429"
expect_eq "$NEIGHBOUR, in SN-slow's old bucket, still uploads" \
	"$(as_device $S $T/neighbour POST /v1/events --body $T/ev1.json 2>/dev/null | head -1)" "200"
touch $T/go
wait "${HOLDERS[@]}"
expect_eq "the slow uploads were held open all along" "$(cat $T/slow.out)" "open 2 of 2"
kill -0 $SPID && ok "server process alive" || fail "server died"
stop_server
done_testing
