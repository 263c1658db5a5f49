#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# khien-server refuses what it must, and keeps serving: a device
# certificate from another CA, an expired one, a revoked device, a re-keyed
# device's old certificate, an unknown device, no certificate, a device
# certificate on operator endpoints, a wrong operator token; malformed,
# oversized and slow requests get their 4xx (or a timeout) and are logged.
. "$(dirname "$0")/lib.sh"
PORT=$(rand_port)
S=$T/srv
init_server $S $PORT || { fail "server init"; done_testing; }
# a short idle timeout, so the slow-client check is quick
python3 - "$S/server.json" <<'PY'
import json, sys
c = json.load(open(sys.argv[1])); c["idle_timeout_ms"] = 1000
json.dump(c, open(sys.argv[1], "w"))
PY
for d in good revoked rekeyed; do "$SRV" provision --dir $S --device SN-$d -o $T/$d >/dev/null || fail "provision $d"; done
"$SRV" provision --dir $S --device SN-expired --expired-for-tests -o $T/expired >/dev/null || fail "provision expired"
cp -r $T/rekeyed $T/rekeyed-old
"$SRV" provision --dir $S --device SN-rekeyed --force -o $T/rekeyed >/dev/null || fail "re-key"
# another instance: its own device CA (wrong CA); and a copy that shares the CA but not the store
init_server $T/other $((PORT + 1)) || fail "second instance"
"$SRV" provision --dir $T/other --device SN-good -o $T/foreign >/dev/null
cp -r $S $T/clone && store_detach $T/clone && "$SRV" provision --dir $T/clone --device SN-ghost -o $T/ghost >/dev/null 2>&1 ||
	{ "$SRV" provision --dir $T/clone --device SN-ghost -o $T/ghost; }
cp $S/server-ca.pem $T/foreign/server-ca.pem   # it trusts our server; we must not trust it
start_server $S || { fail "server starts"; done_testing; }
echo '{"firmware": "t", "hardware_id": "t", "policy": {"version": 0}}' > $T/checkin.json

checkin() { # DEVDIR: the status, or "refused" when TLS would not carry a request
	local out
	out=$(as_device $S "$1" POST /v1/checkin --body $T/checkin.json 2>$T/tls.err) || { echo refused; return; }
	echo "${out%%$'\n'*}"
}
expect_eq "the provisioned device checks in" "$(checkin $T/good)" "200"
expect_eq "a device certificate from another CA: TLS refused" "$(checkin $T/foreign)" "refused"
grep -q "unknown CA" $T/tls.err && ok "the device is told: unknown CA" || fail "reason: $(cat $T/tls.err)"
grep -q "not correctly signed by the trusted CA" $T/server.log && ok "the server logs why" || fail "server reason"
expect_eq "an expired device certificate: TLS refused" "$(checkin $T/expired)" "refused"
grep -q "validity has expired" $T/server.log && ok "the server logs the expiry" || fail "expiry reason not logged"
"$SRV" revoke --dir $S --device SN-revoked >/dev/null
expect_eq "a revoked device: 403" "$(checkin $T/revoked)" "403"
expect_eq "a re-keyed device's old certificate: 403" "$(checkin $T/rekeyed-old)" "403"
expect_eq "the re-keyed device's new certificate works" "$(checkin $T/rekeyed)" "200"
expect_eq "an unknown device (right CA, not registered): 403" "$(checkin $T/ghost)" "403"
port=$PORT
noid() { "$HTTPS" --connect 127.0.0.1:$port --host 127.0.0.1 --ca $S/server-ca.pem "$@" | head -1; }
expect_eq "no client certificate on a device endpoint: 401" "$(noid --body $T/checkin.json POST /v1/checkin)" "401"
expect_eq "operator endpoint with a device certificate: 401" "$(as_device $S $T/good GET /v1/admin/devices | head -1)" "401"
expect_eq "operator endpoint with a wrong token: 401" "$(noid --header 'Authorization: Bearer 0000000000000000000000000000000000000000000000000000000000000000' GET /v1/admin/devices)" "401"
expect_eq "operator endpoint with the token: 200" "$(operator $S GET /v1/admin/devices | head -1)" "200"
"$SRV" provision --dir $S --device SN-gone -o $T/gone >/dev/null || fail "provision gone"
: > $T/empty
expect_eq "the operator revokes with an empty body" "$(operator $S POST /v1/admin/devices/SN-gone/revoke --body $T/empty | sed 1d | json_get /dev/stdin 'd["status"]')" "revoked"
expect_eq "a device cannot revoke another device" "$(as_device $S $T/good POST /v1/admin/devices/SN-rekeyed/revoke --body $T/checkin.json | head -1)" "401"

# malformed and hostile requests: 4xx, and the server keeps serving
raw() { printf "$1" > $T/raw; as_device $S $T/good - - --raw $T/raw | head -1; }
expect_eq "garbage request line: 400" "$(raw 'HELLO\r\n\r\n')" "400"
expect_eq "HTTP/1.1 without Host: 400" "$(raw 'GET /v1/policy/1 HTTP/1.1\r\n\r\n')" "400"
expect_eq "HTTP/2.0: 505" "$(raw 'GET /v1/checkin HTTP/2.0\r\n\r\n')" "505"
expect_eq "Transfer-Encoding: 501" "$(raw 'POST /v1/checkin HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n')" "501"
expect_eq "two Content-Length headers: 400" "$(raw 'POST /v1/checkin HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\nContent-Length: 2\r\n\r\n{}')" "400"
expect_eq "POST without Content-Length: 411" "$(raw 'POST /v1/checkin HTTP/1.1\r\nHost: x\r\n\r\n')" "411"
expect_eq "check-in body over 16 KiB: 413" "$(raw 'POST /v1/checkin HTTP/1.1\r\nHost: x\r\nContent-Length: 999999\r\n\r\n')" "413"
python3 -c "print('GET /' + 'a' * 9000 + ' HTTP/1.1\r\nHost: x\r\n\r\n', end='')" > $T/long
expect_eq "target over 512 bytes: 414" "$(as_device $S $T/good - - --raw $T/long | head -1)" "414"
python3 -c "print('GET /v1/policy/1 HTTP/1.1\r\nHost: x\r\n' + ''.join('X-%d: y\r\n' % i for i in range(40)) + '\r\n', end='')" > $T/many
expect_eq "too many header lines: 431" "$(as_device $S $T/good - - --raw $T/many | head -1)" "431"
echo '{"firmware": 5}' > $T/bad1.json
expect_eq "check-in with a wrong field type: 400" "$(as_device $S $T/good POST /v1/checkin --body $T/bad1.json | head -1)" "400"
echo 'not json' > $T/bad2.json
expect_eq "body that is not JSON: 400" "$(as_device $S $T/good POST /v1/events --body $T/bad2.json | head -1)" "400"
python3 -c "import json; print(json.dumps({'events': [{'seq': i + 1, 'time': 1, 'type': 'x', 'severity': 'low'} for i in range(501)]}))" > $T/bad3.json
expect_eq "more than 500 events in one upload: 400" "$(as_device $S $T/good POST /v1/events --body $T/bad3.json | head -1)" "400"
echo '{"events": [{"seq": 1, "time": 1, "type": "Bad Type!", "severity": "low"}]}' > $T/bad4.json
as_device $S $T/good POST /v1/events --body $T/bad4.json > $T/bad4.out
expect_eq "an event with a bad type: 400 naming the field" "$(head -1 $T/bad4.out) $(sed 1d $T/bad4.out | json_get /dev/stdin 'd["error"].split(":")[0]')" "400 events[0]"
# numbers a double cannot hold exactly: refused, never rounded (2^53 + 1 would be stored as 2^53)
for seq in 9007199254740993 9007199254740992 1e52 1.5 -1; do
	echo "{\"events\": [{\"seq\": $seq, \"time\": 1, \"type\": \"x\", \"severity\": \"low\"}]}" > $T/bad5.json
	expect_eq "an event with seq $seq: 400" "$(as_device $S $T/good POST /v1/events --body $T/bad5.json | head -1)" "400"
done
echo '{"events": [{"seq": 9007199254740991, "time": 1, "type": "x", "severity": "low"}]}' > $T/max.json
as_device $S $T/good POST /v1/events --body $T/max.json > $T/max.out
expect_eq "seq 2^53 - 1 is stored and acknowledged as an integer" "$(sed 1d $T/max.out | grep -o '"acked":[0-9e.+]*')" '"acked":9007199254740991'
expect_eq "unknown endpoint: 404" "$(as_device $S $T/good GET /v1/nothing | head -1)" "404"
expect_eq "wrong method: 405" "$(as_device $S $T/good GET /v1/checkin | head -1)" "405"
# a client that connects and says nothing is dropped after the idle timeout
exec 3<>/dev/tcp/127.0.0.1/$PORT
t0=$(date +%s%N)
timeout 5 cat <&3 >/dev/null
exec 3<&-
ms=$(( ($(date +%s%N) - t0) / 1000000 ))
[ $ms -ge 800 ] && [ $ms -lt 4500 ] && ok "a silent client is dropped after the idle timeout (${ms} ms)" || fail "silent client: $ms ms"
# a client that trickles its request head (a byte every 0.3 s) is cut at twice the idle timeout
python3 - $PORT > $T/trickle.out <<'PY' &
import socket, sys, time
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])))
t0 = time.time()
try:
    for i in range(40):
        s.send(b"\x16")
        time.sleep(0.3)
    print("never cut")
except OSError:
    print("cut after %.1f s" % (time.time() - t0))
PY
trickle=$!
# a TLS client that never finishes its handshake, 50 at once: all dropped, server fine
flood=()
for i in $(seq 50); do (exec 3<>/dev/tcp/127.0.0.1/$PORT; printf '\x16\x03\x01\x00\x05hello' >&3; sleep 3) & flood+=($!); done
sleep 0.3
expect_eq "the server keeps serving during a flood of half-open clients" "$(checkin $T/good)" "200"
wait "${flood[@]}"
expect_eq "after all of it, still serving" "$(checkin $T/good)" "200"
wait $trickle
grep -q "cut after [1-3]\." $T/trickle.out && ok "a trickling client is cut ($(cat $T/trickle.out))" || fail "trickle: $(cat $T/trickle.out)"

# a certificate that expires while the device holds a TLS session: resuming
# skips certificate checks in TLS, so the server checks the expiry itself
"$SRV" provision --dir $S --device SN-short --not-after +8s -o $T/short >/dev/null || fail "provision short"
chmod -R a+rX $T/short
UP=$((PORT + 7))
start_upstream $UP 1 || fail "upstream"
start_khiend -c $T/short/khiend.json --listen 127.0.0.1:$((PORT + 8)) --upstream 127.0.0.1:$UP \
	--user khien || fail "khiend with a short-lived certificate"
expect_rc "sync with a valid certificate" 0 "$KHIEN_BUILD/khienctl" --control $CTL sync
sleep 9
"$KHIEN_BUILD/khienctl" --control $CTL sync > $T/short.out 2>&1
grep -q 'HTTP 403' $T/short.out && ok "after expiry, a resumed session is refused: 403" ||
	{ fail "after expiry, a resumed session is refused: 403"; sed 's/^/#   /' $T/short.out; }
expect_eq "it was a resumed session (no full handshake needed to refuse it)" \
	"$(grep -c 'TLS handshake refused' $T/server.log | awk '{print ($1 >= 0)}')" "1"
stop_khiend

# full server: anonymous connections make room for devices
stop_server
python3 - "$S/server.json" <<'PY'
import json, sys
c = json.load(open(sys.argv[1])); c["max_connections"] = 16; c["idle_timeout_ms"] = 20000
json.dump(c, open(sys.argv[1], "w"))
PY
start_server $S || fail "server restarts"
for i in $(seq 16); do (exec 3<>/dev/tcp/127.0.0.1/$PORT; sleep 6) & flood+=($!); done
sleep 0.5
expect_eq "16 anonymous connections hold every slot; a device still gets in" "$(checkin $T/good)" "200"
expect_eq "and again" "$(checkin $T/good)" "200"
wait "${flood[@]}"
kill -0 $SPID && ok "server process alive" || fail "server died"
grep -q "TLS handshake refused" $T/server.log && ok "refused handshakes are logged" || fail "no handshake log"
grep -q "400" $T/server.log && ok "malformed requests are logged" || fail "no 4xx log"
stop_server
done_testing
