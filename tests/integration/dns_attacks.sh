#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Attacks on khiend's DNS engine by LAN clients and a hostile or broken
# upstream, each performed against a real khiend and the scripted test
# upstream (khien-testdns) on 127.0.0.1 (issue 11):
#   - the TC->TCP fallback outliving timeout_ms (upstream TCP silent, late, closing)
#   - an answer in flight across an index swap (must be inspected with the new lists)
#   - an upstream answer with a compression pointer into the header (found by the engine fuzzer)
#   - DNS-over-TCP slow-loris: every slot held by clients trickling one byte a second
#   - one client flooding never-answered names to take the whole in-flight table
#   - amplification: answers larger than the client's advertised UDP size
#   - queries from outside the configured client networks (dns.allow_clients)
#   - one address flooding UDP queries (response-rate limit)
. "$(dirname "$0")/lib.sh"
P=$KHIEN_BUILD/khien-policy
UP=$(rand_port); DNS=$((UP + 1))
D="dig +time=5 +tries=1 @127.0.0.1 -p $DNS"

# write_config FILE [extra dns keys as JSON members]
write_config() {
	cat > "$1" <<JSON
{
  "dns": {
    "listen": ["127.0.0.1:$DNS"],
    "upstreams": ["127.0.0.1:$UP"],
    "timeout_ms": 400${2:+,
    $2}
  },
  "user": "nobody",
  "log_level": "info"
}
JSON
}

inflight() { ctl status | json_get /dev/stdin 'd["dns"]["queries"]["inflight"]'; }
# cpu_ticks: user+system clock ticks khiend has used so far
cpu_ticks() { awk '{print $14 + $15}' "/proc/$KPID/stat"; }
sanitizer_clean() {
	! grep -qE "AddressSanitizer|LeakSanitizer|runtime error:|bug:" "$T/khiend.log" && return 0
	grep -m1 -A12 -E "AddressSanitizer|LeakSanitizer|runtime error:|bug:" "$T/khiend.log" | sed "s/^/#   /"
	return 1
}

# khiend_sane NAME: still answers, nothing pending, not spinning, stops on SIGTERM
khiend_sane() {
	local name=$1 t0 t1 rc
	[[ "$($D +short after.example.org)" == 198.19.* ]] &&
		ok "$name: khiend still answers other queries" || fail "$name: khiend still answers"
	expect_eq "$name: nothing left in flight" "$(inflight)" "0"
	t0=$(cpu_ticks); sleep 1; t1=$(cpu_ticks)
	# A spinning daemon burns ~100 ticks a second; an idle one about none.
	[ $((t1 - t0)) -lt 50 ] && ok "$name: khiend idle, not spinning ($((t1 - t0)) ticks in 1 s)" ||
		fail "$name: khiend spins ($((t1 - t0)) ticks in 1 s)"
	kill -TERM $KPID
	for _ in $(seq 50); do kill -0 $KPID 2>/dev/null || break; sleep 0.1; done
	if kill -0 $KPID 2>/dev/null; then
		fail "$name: khiend stops on SIGTERM within 5 s"
		kill -KILL $KPID
	else
		ok "$name: khiend stops on SIGTERM"
	fi
	wait $KPID; rc=$?
	expect_eq "$name: khiend exit status" "$rc" "0"
	sanitizer_clean && ok "$name: no sanitizer report or engine bug logged" ||
		{ fail "$name: sanitizer report or bug"; grep -E -A20 "Sanitizer|runtime error|bug:" "$T/khiend.log" | head -40 | sed 's/^/#   /'; }
}

# ---- 1. TC->TCP fallback outliving timeout_ms (issue 11, High #2)
# The upstream truncates these names over UDP; over TCP it stays silent,
# answers after 1 s (timeout_ms is 400) or closes the connection.
start_upstream $UP 1 --tcp-delay 1000 --slow-delay 2000 --cname cl.slow.test=c2-target.example || exit 1
write_config "$T/k1.json"
for mode in tcsilent tcslow tcclose; do
	start_khiend --config "$T/k1.json" || { fail "$mode: khiend starts"; continue; }
	# More fetches than upstream TCP slots (16): a leaked slot shows as a lost fallback.
	digs=()
	for i in $(seq 20); do $D +tcp +short q$i.$mode.test > /dev/null & digs+=($!); done
	wait "${digs[@]}"
	out=$($D +tcp q0.$mode.test)
	if [ $mode = tcslow ]; then
		echo "$out" | grep -q "status: SERVFAIL" && ok "$mode: TCP fetch past timeout_ms answers SERVFAIL" ||
			{ fail "$mode: SERVFAIL at the timeout"; echo "$out" | sed 's/^/#  /' | head -20; }
	else
		echo "$out" | grep -q "status: SERVFAIL" && ok "$mode: failed TCP fetch answers SERVFAIL" ||
			{ fail "$mode: SERVFAIL"; echo "$out" | sed 's/^/#  /' | head -20; }
	fi
	sleep 1.2 # the late answers (tcslow) arrive now, after their queries timed out
	n=$($D +tcp x.tc.test | grep -cP '\tIN\tA\t')
	expect_eq "$mode: the TC->TCP fallback still works afterwards (all fetch slots free)" "$n" "40"
	khiend_sane "$mode"
done

# ---- 2. an answer in flight across an index swap (issue 11, Medium #9)
# cl.slow.test answers (after 2 s) with a CNAME to c2-target.example, which
# only the new index blocks. The swap happens while the query is in flight.
echo "old-bad.example" > "$T/old.txt"
printf 'old-bad.example\nc2-target.example\n' > "$T/new.txt"
"$P" compile -q -o "$T/idx" --list malware=$T/old.txt >/dev/null 2>&1
"$P" compile -q -o "$T/idx.new" --list malware=$T/new.txt >/dev/null 2>&1
chmod 644 "$T/idx" "$T/idx.new"
write_config "$T/k2.json" "\"timeout_ms\": 4000, \"index\": \"$T/idx\""
sed -i 's/"timeout_ms": 400,//' "$T/k2.json"
start_khiend --config "$T/k2.json" || fail "swap: khiend starts"
expect_eq "swap: the CNAME target is allowed before the swap" \
	"$(ctl --json check c2-target.example | json_get /dev/stdin 'd["verdict"]')" "allowed"
$D cl.slow.test > "$T/inflight.out" &
dig_pid=$!
for _ in $(seq 40); do [ "$(inflight)" = 1 ] && break; sleep 0.05; done
expect_eq "swap: the query is in flight at the swap" "$(inflight)" "1"
mv "$T/idx.new" "$T/idx"
ctl reload > /dev/null && ok "swap: khienctl reload while the query is in flight" || fail "swap: reload"
wait $dig_pid
expect_eq "swap: the answer in flight is inspected with the new index (CNAME target blocked)" \
	"$(grep -o 'status: [A-Z]*' "$T/inflight.out")" "status: NXDOMAIN"
grep -q "EDE: 15" "$T/inflight.out" && ok "swap: the block says why (EDE Blocked)" ||
	{ fail "swap: EDE"; sed 's/^/#  /' "$T/inflight.out" | head -20; }
out=$($D cl.slow.test)
expect_eq "swap: the name stays blocked afterwards (not served from the cache)" \
	"$(echo "$out" | grep -o 'status: [A-Z]*')" "status: NXDOMAIN"
expect_eq "swap: blocked_by_answer counted both" \
	"$(ctl status | json_get /dev/stdin 'd["dns"]["queries"]["blocked_by_answer"]')" "2"

# ---- a compression pointer into the header (found by tests/fuzz/dns_engine): the
# ID there is rewritten on the way to the client, so khiend would inspect a
# different name than the client reads. Refused as malformed.
expect_eq "header pointer: an answer pointing into the header is refused (SERVFAIL)" \
	"$($D x.hdrptr.test | grep -o 'status: [A-Z]*')" "status: SERVFAIL"
stop_khiend
sanitizer_clean && ok "swap: no sanitizer report" || fail "swap: sanitizer report"

# ---- 3. DNS-over-TCP slow-loris (issue 11, Medium #4)
# Four attacking addresses open five connections each (more than the 16
# slots) and trickle one byte a second. Each may hold at most tcp_per_client
# (4), a query must be complete within tcp_message_ms (3 s), and a newcomer
# evicts the idlest connection instead of being turned away.
cat > "$T/slowloris.py" <<'PY'
import socket, sys, time
port, secs = int(sys.argv[1]), float(sys.argv[2])
msg = b"\x00\x20" + b"a" * 32  # a 32-byte query, sent one byte a second
conns = []
for src in ("127.0.0.1", "127.0.0.3", "127.0.0.4", "127.0.0.5"):
    for _ in range(5):
        s = socket.socket()
        s.bind((src, 0))
        s.connect(("127.0.0.1", port))
        s.setblocking(False)
        conns.append({"s": s, "src": src, "sent": 0, "closed": None})
start = time.time()
per_src_max = 0
while time.time() - start < secs:
    for c in conns:
        if c["closed"] is not None:
            continue
        try:
            if c["s"].recv(1) == b"":
                c["closed"] = time.time() - start
                continue
        except BlockingIOError:
            pass
        except OSError:
            c["closed"] = time.time() - start
            continue
        try:
            c["s"].send(msg[c["sent"]:c["sent"] + 1])
            c["sent"] += 1
        except OSError:
            c["closed"] = time.time() - start
    if time.time() - start > 0.5:
        for src in set(c["src"] for c in conns):
            per_src_max = max(per_src_max, sum(1 for c in conns if c["src"] == src and c["closed"] is None))
    time.sleep(1)
print("per_src_max=%d still_open=%d" % (per_src_max, sum(1 for c in conns if c["closed"] is None)))
PY
write_config "$T/k3.json"
start_khiend --config "$T/k3.json" || fail "slow-loris: khiend starts"
python3 "$T/slowloris.py" $DNS 8 > "$T/slowloris.out" &
sl_pid=$!
sleep 1.5
[[ "$($D -b 127.0.0.2 +tcp +short other.example.org)" == 198.19.* ]] &&
	ok "slow-loris: another client's TCP query is answered while the slots are attacked" ||
	fail "slow-loris: another client's TCP query answered"
n=$($D -b 127.0.0.2 x.tc.test | grep -cP '\tIN\tA\t')
expect_eq "slow-loris: a UDP client's TC->TCP retry still works" "$n" "40"
wait $sl_pid
held=$(sed -n 's/.*per_src_max=\([0-9]*\).*/\1/p' "$T/slowloris.out")
[ -n "$held" ] && [ "$held" -le 4 ] && ok "slow-loris: at most tcp_per_client (4) connections per attacking address ($held)" ||
	{ fail "slow-loris: per-client cap"; cat "$T/slowloris.out"; }
expect_eq "slow-loris: trickled queries are cut at tcp_message_ms (none open after 8 s)" \
	"$(sed -n 's/.*still_open=\([0-9]*\).*/\1/p' "$T/slowloris.out")" "0"
ctl status > "$T/st3.json"
[ "$(json_get "$T/st3.json" 'd["dns"]["queries"]["tcp_evicted"]')" -ge 4 ] &&
	[ "$(json_get "$T/st3.json" 'd["dns"]["queries"]["tcp_timed_out"]')" -ge 1 ] &&
	ok "slow-loris: evictions and deadlines counted in status" || { fail "slow-loris: counters"; grep -o '"tcp[a-z_]*": *[0-9]*' "$T/st3.json"; }
khiend_sane "slow-loris"

# ---- 4. one client floods never-answered names (issue 11, Low #12)
# 1500 distinct *.timeout.test names from 127.0.0.3 (each pending up to 2 x
# 3 s) would fill all 1024 in-flight slots; the flooder gets its share (256)
# and a normal client is still served.
write_config "$T/k4.json" "\"rate_limit\": 0" # the default share: CONFIG_DNS_MAX_INFLIGHT / 4 = 256
sed -i 's/"timeout_ms": 400/"timeout_ms": 3000/' "$T/k4.json"
start_khiend --config "$T/k4.json" || fail "flood: khiend starts"
python3 - $DNS <<'PY'
import socket, struct, sys
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind(("127.0.0.3", 0))
for i in range(1500):
    q = struct.pack(">HHHHHH", i, 0x0100, 1, 0, 0, 0)
    q += b"".join(bytes([len(l)]) + l.encode() for l in ("f%d" % i, "timeout", "test")) + b"\0\0\1\0\1"
    s.sendto(q, ("127.0.0.1", int(sys.argv[1])))
PY
sleep 0.3
expect_eq "flood: the flooding client holds only its share of the in-flight table" "$(inflight)" "256"
[[ "$($D +short normal.example.org)" == 198.19.* ]] && ok "flood: a normal client is answered during the flood" ||
	fail "flood: a normal client is answered (got SERVFAIL?)"
ctl status > "$T/st4.json"
[ "$(json_get "$T/st4.json" 'd["dns"]["queries"]["client_share_servfail"]')" -ge 1000 ] &&
	ok "flood: the flooder's excess is refused and counted (client_share_servfail)" ||
	{ fail "flood: counted"; grep -o '"[a-z_]*servfail": *[0-9]*' "$T/st4.json"; }
stop_khiend
sanitizer_clean && ok "flood: no sanitizer report" || fail "flood: sanitizer report"

# ---- 5. answers larger than the client takes over UDP (issue 11, Low #11)
# x.big.test is about 700 bytes over UDP. A client without EDNS takes 512,
# one with EDNS what it advertises; larger answers come back as TC.
write_config "$T/k5.json"
start_khiend --config "$T/k5.json" || fail "udp size: khiend starts"
python3 - $DNS > "$T/amp.out" <<'PY'
import socket, struct, sys
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.settimeout(3)
q = struct.pack(">HHHHHH", 7, 0x0100, 1, 0, 0, 0) + b"\x01x\x03big\x04test\0\0\1\0\1"
s.sendto(q, ("127.0.0.1", int(sys.argv[1])))
d = s.recv(65535)
print("query=%d answer=%d tc=%d" % (len(q), len(d), (d[2] >> 1) & 1))
PY
expect_eq "udp size: a query without EDNS gets at most 512 bytes, with TC" \
	"$(sed 's/query=[0-9]* //' "$T/amp.out" | awk '{split($1,a,"="); print (a[2] <= 512) " " $2}')" "1 tc=1"
out=$($D +noedns +ignore x.big.test)
echo "$out" | grep -q "flags: qr.* tc" && ok "udp size: dig without EDNS sees TC" || { fail "udp size: TC"; echo "$out" | head | sed 's/^/#  /'; }
n=$($D +bufsize=1232 +ignore x.big.test | grep -cP '\tIN\tA\t')
expect_eq "udp size: a client advertising 1232 gets the whole answer" "$n" "40"
n=$($D +noedns x.big.test | grep -cP '\tIN\tA\t')
expect_eq "udp size: dig retries over TCP after TC and gets it all" "$n" "40"
stop_khiend
sanitizer_clean && ok "udp size: no sanitizer report" || fail "udp size: sanitizer report"

# ---- 5b. clients outside dns.allow_clients (issue 11, Low #11)
write_config "$T/k6.json" "\"allow_clients\": [\"127.0.0.1/32\"]"
start_khiend --config "$T/k6.json" || fail "allow: khiend starts"
[[ "$($D +short allowed.example.org)" == 198.19.* ]] && ok "allow: 127.0.0.1 (listed) is answered" ||
	fail "allow: 127.0.0.1 answered"
out=$(dig +time=1 +tries=1 @127.0.0.1 -p $DNS -b 127.0.0.2 outsider.example.org)
echo "$out" | grep -q "status:" && { fail "allow: 127.0.0.2 (not listed) gets no UDP answer"; echo "$out" | head -5 | sed 's/^/#  /'; } ||
	ok "allow: 127.0.0.2 (not listed) gets no UDP answer (dropped, nothing reflected)"
out=$(dig +time=1 +tries=1 @127.0.0.1 -p $DNS -b 127.0.0.2 +tcp outsider.example.org)
echo "$out" | grep -q "status:" && fail "allow: 127.0.0.2 gets no TCP answer" ||
	ok "allow: 127.0.0.2 (not listed) is not served over TCP"
[ "$(ctl status | json_get /dev/stdin 'd["dns"]["queries"]["not_allowed"]')" -ge 2 ] &&
	ok "allow: refused clients counted (not_allowed)" || fail "allow: not_allowed counted"
stop_khiend
sanitizer_clean && ok "allow: no sanitizer report" || fail "allow: sanitizer report"

# ---- 5c. response-rate limit per client (issue 11, Low #11)
write_config "$T/k7.json" "\"rate_limit\": 100"
start_khiend --config "$T/k7.json" || fail "rate: khiend starts"
python3 - $DNS > "$T/rate.out" <<'PY'
import socket, struct, sys, time
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind(("127.0.0.3", 0))
s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1 << 20)
q = struct.pack(">HHHHHH", 1, 0x0100, 1, 0, 0, 0) + b"\x17use-application-dns\x03net\0\0\1\0\1"
for i in range(2000):
    s.sendto(q, ("127.0.0.1", int(sys.argv[1])))
s.settimeout(1)
got = 0
try:
    while True:
        s.recv(4096)
        got += 1
except socket.timeout:
    pass
print(got)
PY
got=$(cat "$T/rate.out")
[ "$got" -ge 50 ] && [ "$got" -le 500 ] && ok "rate: a flood of 2000 queries gets about rate_limit (100/s) answers ($got)" ||
	fail "rate: flood answers limited ($got of 2000)"
[[ "$($D +short rated.example.org)" == 198.19.* ]] && ok "rate: the router's own address is answered meanwhile" ||
	fail "rate: own address answered"
[[ "$(dig +time=2 +tries=1 @127.0.0.1 -p $DNS -b 127.0.0.4 +short other4.example.org)" == 198.19.* ]] &&
	ok "rate: another client is answered meanwhile" || fail "rate: another client answered"
[ "$(ctl status | json_get /dev/stdin 'd["dns"]["queries"]["rate_limited"]')" -ge 1000 ] &&
	ok "rate: dropped queries counted (rate_limited)" || fail "rate: rate_limited counted"
stop_khiend
sanitizer_clean && ok "rate: no sanitizer report" || fail "rate: sanitizer report"

done_testing
