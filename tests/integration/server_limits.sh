#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# No one client takes khien-server away from the fleet. One device
# certificate opens many idle TLS connections (and so does a revoked one):
# the device keeps at most max_connections_per_device, the revoked
# certificate counts for nothing and makes room first, and another device
# and the operator still get in; a server full of admitted devices still
# lets a newcomer and the operator in.
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
for d in a b r c1 c2 c3 c4; do "$SRV" provision --dir $S --device SN-$d -o $T/$d >/dev/null || fail "provision $d"; done
"$SRV" revoke --dir $S --device SN-r >/dev/null || fail "revoke"
start_server $S || { fail "server starts"; done_testing; }
echo '{"firmware": "t", "hardware_id": "t", "policy": {"version": 0}}' > $T/checkin.json
checkin() { as_device $S $T/$1 POST /v1/checkin --body $T/checkin.json 2>/dev/null | head -1; }

# hold NAME N DEVDIR|-: N idle connections in the background, until $T/go
HOLDERS=()
hold() {
	local name=$1 n=$2 dev=$3 id=()
	[ "$dev" != - ] && id=($T/$dev/device.pem $T/$dev/device.key)
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
grep -q "SN-r: certificate not admitted" $T/server.log &&
	ok "the revoked certificate is not counted as a device" || fail "revoked certificate log"
expect_eq "a request on a revoked certificate's connection: 403" "$(checkin r)" "403"

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
kill -0 $SPID && ok "server process alive" || fail "server died"
stop_server
done_testing
