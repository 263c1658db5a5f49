#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# khiend as a router runs it: real khiend, real dig, a scripted upstream
# (khien-testdns) on 127.0.0.1. Blocking and allow rules, every action,
# EDE, CNAME cloaking, TCP, EDNS, truncation, spoofed answers, timeouts,
# failover, malformed packets, reload, privilege drop, config errors.
. "$(dirname "$0")/lib.sh"
P=$KHIEN_BUILD/khien-policy
L=$FIX/lists
UP1=$(rand_port); UP2=$((UP1 + 1)); DNS=$((UP1 + 2))
D="dig +time=5 +tries=1 @127.0.0.1 -p $DNS"

"$P" compile -q -o "$T/idx" --list malware=$L/malware.hosts --list authority=$L/authority.rpz \
	--list gambling=$L/gambling.txt --list adult=$L/adult.dnsmasq --list ads=$L/ads.adblock \
	--list phishing=$L/phishing.unbound --allow $L/allow.txt >/dev/null 2>&1
chmod 644 "$T/idx"
cat > "$T/khiend.json" <<JSON
{
  "dns": {
    "listen": ["127.0.0.1:$DNS"],
    "upstreams": ["127.0.0.1:$UP1", "127.0.0.1:$UP2"],
    "index": "$T/idx",
    "blocked_ttl": 42,
    "timeout_ms": 700,
    "blockpage": {"ipv4": "198.18.0.80", "ipv6": "2001:db8::80"},
    "categories": {
      "adult": {"action": "blockpage"},
      "ads": {"action": "null"},
      "phishing": {"action": "refused"}
    }
  },
  "user": "khien",
  "log_level": "info"
}
JSON
start_upstream $UP1 1 --cname cloak.test=malware-c2.example --cname chain.test=hop.test \
	--cname hop.test=www.tracker.cdn-example.net || exit 1
UP1_PID=$UP_PID
start_upstream $UP2 2 || exit 1
start_khiend --config "$T/khiend.json" || { fail "khiend starts"; done_testing; }
ok "khiend starts with a JSON config"

# --- blocking and its explanation
out=$($D www.casino-example.com)
echo "$out" | grep -q "status: NXDOMAIN" && ok "blocked name: NXDOMAIN" || fail "blocked name: NXDOMAIN"
echo "$out" | grep -q "EDE: 17 (Filtered): (khien: gambling (rule \*.casino-example.com))" &&
	ok "EDE Filtered with category and rule" || { fail "EDE Filtered"; echo "$out" | sed 's/^/#  /'; }
echo "$out" | grep -qE "SOA.*blocked.khien.invalid. 1 3600 600 86400 42" && echo "$out" | grep -qE "^www.casino-example.com.\s+42\s+IN\s+SOA" &&
	ok "blocked answer carries the configured TTL (42)" || fail "blocked TTL"
$D malware-c2.example | grep -q "EDE: 15 (Blocked)" && ok "security category: EDE Blocked" || fail "EDE Blocked"
$D banned-site.example | grep -q "EDE: 16 (Censored)" && ok "authority category: EDE Censored" || fail "EDE Censored"
for t in A AAAA HTTPS MX TXT SVCB; do
	$D payload.example $t | grep -q "status: NXDOMAIN" || { fail "every query type blocked ($t)"; continue; }
done
ok "every query type of a blocked name is blocked (A AAAA HTTPS MX TXT SVCB)"
expect_eq "subdomain of a listed name is blocked" "$($D a.b.malware-c2.example | grep -o 'status: [A-Z]*')" "status: NXDOMAIN"
ans=$($D example.org +short)
[[ "$ans" == 198.19.* ]] && ok "allowed name answered by the upstream ($ans)" || fail "allowed name answered ($ans)"
ans=$($D safe.casino-example.com +short)
[[ "$ans" == 198.19.* ]] && ok "allow list overrides the block list" || fail "allow list overrides ($ans)"
ans=$($D good.ads.example +short)
[[ "$ans" == 198.19.* ]] && ok "AdBlock @@ exception overrides" || fail "@@ exception ($ans)"
[[ "$($D x.exact-only.example +short)" == 198.19.* ]] && ok "RPZ exact-only: subdomain allowed" || fail "RPZ exact-only"
expect_eq "RPZ *. entry covers subdomains, action NODATA" "$($D x.subs-only.example | grep -oE 'status: [A-Z]+, id|ANSWER: [0-9]+' | tr '\n' ' ')" "status: NOERROR, id ANSWER: 0 "
expect_eq "name with a non-canonical label still blocked by its suffix" \
	"$($D 'we\ird.malware-c2.example' | grep -o 'status: [A-Z]*')" "status: NXDOMAIN"
expect_eq "upper case query is blocked" "$($D WWW.CASINO-EXAMPLE.COM | grep -o 'status: [A-Z]*')" "status: NXDOMAIN"

# --- actions
expect_eq "action blockpage: A" "$($D xxx-sample.net +short)" "198.18.0.80"
expect_eq "action blockpage: AAAA" "$($D xxx-sample.net AAAA +short)" "2001:db8::80"
expect_eq "action null: A" "$($D pixel.example +short)" "0.0.0.0"
expect_eq "action null: AAAA" "$($D pixel.example AAAA +short)" "::"
expect_eq "action null: MX is NODATA" "$($D pixel.example MX | grep -oE 'status: [A-Z]+|ANSWER: [0-9]+' | tr '\n' ' ')" "status: NOERROR ANSWER: 0 "
expect_eq "action refused" "$($D login-bank-example.com | grep -o 'status: [A-Z]*')" "status: REFUSED"

# --- canaries
expect_eq "Firefox DoH canary answered NXDOMAIN" "$($D use-application-dns.net | grep -o 'status: [A-Z]*')" "status: NXDOMAIN"
expect_eq "Private Relay canary answered NXDOMAIN" "$($D mask-h2.icloud.com | grep -o 'status: [A-Z]*')" "status: NXDOMAIN"

# --- answers inspected: CNAME cloaking and IP triggers
out=$($D cloak.test)
echo "$out" | grep -q "status: NXDOMAIN" && echo "$out" | grep -q "EDE: 15" &&
	ok "CNAME to a blocked name is blocked (cloaking)" || { fail "CNAME cloaking"; echo "$out" | sed 's/^/#  /'; }
expect_eq "blocked name deep in a CNAME chain" "$($D chain.test | grep -o 'status: [A-Z]*')" "status: NXDOMAIN"
expect_eq "answer address inside an RPZ IP trigger is blocked" "$($D x.iptrigger.test | grep -o 'status: [A-Z]*')" "status: NXDOMAIN"

# --- transport: TCP, EDNS, truncation
expect_eq "TCP query blocked" "$($D +tcp www.casino-example.com | grep -o 'status: [A-Z]*')" "status: NXDOMAIN"
n=$($D +tcp x.tc.test | grep -cP '\tIN\tA\t')
expect_eq "TCP client gets a truncated answer in full (upstream over TCP)" "$n" "40"
for i in 1 2 3 4 5; do $D +tcp t$i.tc.test > /dev/null; $D a$i.example.org > /dev/null; done
expect_eq "in-flight table consistent after TCP fetches (regression: double free)" \
	"$(ctl status | json_get /dev/stdin 'd["dns"]["queries"]["inflight"]')" "0"
out=$($D +notcp +ignore x.tc.test)
echo "$out" | grep -q "flags: qr.* tc" && ok "UDP client gets TC for a truncated answer" || { fail "UDP TC"; echo "$out" | sed 's/^/#  /' | head; }
out=$($D +dnssec +bufsize=1400 www.casino-example.com)
echo "$out" | grep -q "; EDNS: version: 0, flags: do; udp: 1232" && ok "EDNS: DO bit echoed, our UDP size advertised" ||
	{ fail "EDNS DO passthrough"; echo "$out" | grep EDNS; }
expect_eq "no EDNS: answer without OPT" "$($D +noedns www.casino-example.com | grep -c 'OPT PSEUDOSECTION')" "0"
python3 - "$DNS" > "$T/pipe" <<'PY'
import socket, struct, sys
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])))
def q(i, name):
    body = struct.pack(">HHHHHH", i, 0x0100, 1, 0, 0, 0) + b"".join(bytes([len(l)]) + l.encode() for l in name.split(".")) + b"\0\0\1\0\1"
    return struct.pack(">H", len(body)) + body
s.sendall(q(1, "www.casino-example.com") + q(2, "example.org") + q(3, "malware-c2.example"))
got = {}
buf = b""
while len(got) < 3:
    buf += s.recv(4096)
    while len(buf) >= 2 and len(buf) >= 2 + struct.unpack(">H", buf[:2])[0]:
        n = struct.unpack(">H", buf[:2])[0]; m = buf[2:2 + n]; buf = buf[2 + n:]
        got[struct.unpack(">H", m[:2])[0]] = m[3] & 15
print(" ".join("%d:%d" % (k, got[k]) for k in sorted(got)))
PY
expect_eq "TCP pipelining: three queries on one connection, all answered" "$(cat "$T/pipe")" "1:3 2:0 3:3"

# --- hostile upstream answers
ans=$($D x.spoof.test +short)
[[ "$ans" == 198.19.1.* ]] && ok "forged answer from another port ignored, real one used" || fail "spoofed answer accepted ($ans)"
ans=$($D x.wrongid.test +short)
[[ "$ans" == 198.19.1.* ]] && ok "answer with a wrong ID ignored" || fail "wrong ID ($ans)"
ans=$($D x.wrongq.test +short)
[[ "$ans" == 198.19.1.* ]] && ok "answer to another question ignored" || fail "wrong question ($ans)"
rej=$(ctl status | json_get /dev/stdin 'd["dns"]["queries"]["rejected_answers"]')
[ "$rej" -ge 3 ] && ok "rejected answers counted ($rej)" || fail "rejected answers counted ($rej)"
start=$(date +%s%N)
expect_eq "upstream timeout answers SERVFAIL" "$($D x.timeout.test | grep -o 'status: [A-Z]*')" "status: SERVFAIL"
ms=$(( ($(date +%s%N) - start) / 1000000 ))
[ $ms -lt 2500 ] && ok "SERVFAIL promptly (${ms} ms, two tries of 700 ms)" || fail "SERVFAIL took ${ms} ms"
expect_eq "upstream NXDOMAIN relayed" "$($D a.nx.test | grep -o 'status: [A-Z]*')" "status: NXDOMAIN"

# --- malformed and unsupported queries: answered or dropped, daemon survives
R="$KHIEN_TOP/tests/integration/rawdns.py"
out=$("$R" $DNS)
expect_eq "malformed and unsupported messages: FORMERR, NOTIMP, BADVERS or dropped" "$out" \
"shorter than a header: no answer
question cut short: rcode=1 flags=0x8181 qd=0
two questions: rcode=1 flags=0x8181 qd=0
UPDATE opcode: rcode=4 flags=0xa884 qd=1
pointer loop: rcode=1 flags=0x8181 qd=0
forward pointer: rcode=1 flags=0x8181 qd=0
extended label type: rcode=1 flags=0x8181 qd=0
a response, not a query: no answer
EDNS version 1: rcode=0 flags=0x8180 qd=1
two OPT records: rcode=1 flags=0x8181 qd=1
zone transfer: rcode=4 flags=0x8184 qd=1
label over 63 octets: rcode=1 flags=0x8181 qd=0
name over 255 octets: rcode=1 flags=0x8181 qd=0
answer section in a query: rcode=1 flags=0x8181 qd=0
valid query with EDNS: rcode=0 flags=0x8580 qd=1"
kill -0 $KPID && ok "daemon alive after malformed packets" || fail "daemon died"
ans=$($D example.org +short)
[[ "$ans" == 198.19.* ]] && ok "still answering after malformed packets" || fail "answering after malformed"

# --- control: check, status, events, reload
out=$(ctl check www.casino-example.com)
expect_eq "khienctl check explains" "$out" "www.casino-example.com blocked gambling *.casino-example.com (nxdomain, list gambling.txt)"
expect_eq "khienctl check allowed" "$(ctl check example.org)" "example.org allowed (on no list)"
ctl status > "$T/st.json"
expect_eq "status: index, per-category counters, upstream health" \
	"$(json_get "$T/st.json" '(d["dns"]["index"]["entries"] > 10, d["dns"]["blocked_by_category"]["gambling"] >= 3, d["dns"]["upstreams"][0]["state"], len(d["dns"]["upstreams"]), d["uptime_s"] > 0)')" \
	"(True, True, 'up', 2, True)"
ctl events > "$T/ev.json"
expect_eq "malware hits become events with a hashed client id" \
	"$(json_get "$T/ev.json" '[ (e["name"], e["category"], e["rule"], e["qtype"], len(e["client"])) for e in d["events"] if e["name"] == "malware-c2.example" ][0]')" \
	"('malware-c2.example', 'malware', 'malware-c2.example', 'A', 16)"
expect_eq "non-security categories make no events" \
	"$(json_get "$T/ev.json" 'len([e for e in d["events"] if e["category"] == "gambling"])')" "0"
EPID=$(engine_pid)
KUID=$(id -u khien)
grep -q "Uid:[[:space:]]*$KUID[[:space:]]" /proc/$EPID/status && ok "the engine runs as khien after binding" || fail "privileges dropped"
grep -q "Uid:[[:space:]]*0[[:space:]]" /proc/$KPID/status && [ "$EPID" != "$KPID" ] &&
	ok "the trust-state owner is a separate process" || fail "privilege separation"

# a name allowed now, cached, then blocked by a new index: the cache must not serve it
$D newly-bad.example +short > /dev/null
echo "newly-bad.example" > "$T/new.txt"
# The new index also takes IP triggers from a plain IP list, and an RPZ whose /0
# trigger (which would block every answer) the compiler refuses.
printf '0.0.0.0.0.rpz-ip CNAME .\nrpz-only.example CNAME .\n' > "$T/zero.rpz"
"$P" compile -q -o "$T/idx.new" --list malware=$L/malware.hosts --list gambling=$T/new.txt \
	--list threat=$L/threat.ip --list authority=$T/zero.rpz >/dev/null 2>"$T/zero.err"
grep -q "^zero.rpz:1: IPv4 prefix /0 is shorter than the minimum /8" "$T/zero.err" &&
	ok "compile refuses an RPZ-IP /0 trigger" || { fail "compile refuses an RPZ-IP /0 trigger"; cat "$T/zero.err"; }
chmod 644 "$T/idx.new"; mv "$T/idx.new" "$T/idx"
ctl reload > /dev/null && ok "khienctl reload" || fail "khienctl reload"
expect_eq "reload: new blocks apply at once (cache flushed)" "$($D newly-bad.example | grep -o 'status: [A-Z]*')" "status: NXDOMAIN"
expect_eq "reload: old entries gone" "$($D +short www.casino-example.com | head -c 7)" "198.19."
out=$($D x.iptrigger.test)
echo "$out" | grep -q "status: NXDOMAIN" && echo "$out" | grep -q "khien: threat (rule " &&
	ok "answer address inside a plain IP list prefix is blocked (198.18.0.66 in 198.18.0.64/28)" ||
	{ fail "IP list trigger applied to answers"; echo "$out" | sed 's/^/#  /'; }
expect_eq "refused /0 trigger blocks no other answer" "$($D +short example.org | head -c 7)" "198.19."
# Indexes are installed by rename, never rewritten in place (the daemon maps them).
cp "$T/idx" "$T/good"; head -c 300 "$T/good" > "$T/idx.tmp"; mv "$T/idx.tmp" "$T/idx"
expect_rc "reload of a corrupt index fails" 1 ctl reload
grep -q "invalid\|corrupt\|truncated" "$T/err" && ok "reload failure says why" || { fail "reload failure says why"; cat "$T/err"; }
expect_eq "corrupt index: the previous one stays" "$($D newly-bad.example | grep -o 'status: [A-Z]*')" "status: NXDOMAIN"
cp "$T/good" "$T/idx.tmp"; mv "$T/idx.tmp" "$T/idx"
kill -HUP $KPID; sleep 0.2
expect_eq "SIGHUP reloads" "$(ctl status | json_get /dev/stdin 'd["dns"]["index"]["reloads"]')" "3"

# --- reload under load: dnsperf (rate-limited) while the index is swapped 10 times
{ awk 'NR>1 && $1 !~ /^#/ {print $2" A"}' $L/malware.hosts; for i in $(seq 200); do echo "load$i.example.org A"; done; } > "$T/load.txt"
before=$(ctl status | json_get /dev/stdin 'd["dns"]["index"]["reloads"]')
( sleep 0.5; for i in $(seq 10); do ctl reload >/dev/null || echo "reload failed" >> "$T/reload.err"; sleep 0.25; done ) &
rl=$!
dnsperf -s 127.0.0.1 -p $DNS -d "$T/load.txt" -l 4 -Q 3000 -t 3 > "$T/perf.txt" 2>&1
wait $rl
after=$(ctl status | json_get /dev/stdin 'd["dns"]["index"]["reloads"]')
sent=$(awk '/Queries sent:/ {print $3}' "$T/perf.txt"); lost=$(awk '/Queries lost:/ {print $3}' "$T/perf.txt")
expect_eq "10 index swaps under load" "$((after - before)) $( [ -f "$T/reload.err" ] && echo errors || echo clean)" "10 clean"
[ "${sent:-0}" -gt 1000 ] && [ "$lost" = "0" ] && ok "no query lost during the swaps ($sent sent)" ||
	{ fail "queries lost during swaps (sent $sent, lost $lost)"; sed 's/^/#  /' "$T/perf.txt" | tail -15; }

# --- failover: the first upstream dies, the second answers
kill $UP1_PID; wait $UP1_PID 2>/dev/null
for i in 1 2 3 4 5; do $D fo$i.example.org +short > "$T/fo$i"; done
ans=$(cat "$T/fo5")
[[ "$ans" == 198.19.2.* ]] && ok "failover to the second upstream ($ans)" || fail "failover ($ans)"
expect_eq "first upstream marked down" "$(ctl status | json_get /dev/stdin 'd["dns"]["upstreams"][0]["state"]')" "down"
stop_khiend

# --- configuration errors name the path and refuse to start
bad() { echo "$1" > "$T/bad.json"; "$KHIEN_BUILD/khiend" -f --config "$T/bad.json" --check-config 2>&1; echo "rc=$?"; }
expect_eq "bad upstream address" "$(bad '{"dns":{"upstreams":["127.0.0.1:53","nope"]}}')" \
	"khiend: $T/bad.json: dns.upstreams[1]: not an address (expected IP:PORT, IPv6 as [IP]:PORT)
rc=1"
expect_eq "unknown key" "$(bad '{"dns":{"upstreams":["127.0.0.1:53"],"colour":1}}')" "khiend: $T/bad.json: dns.colour: unknown key
rc=1"
expect_eq "bad category action" "$(bad '{"dns":{"upstreams":["127.0.0.1:53"],"categories":{"adult":{"action":"hide"}}}}')" \
	"khiend: $T/bad.json: dns.categories.adult.action: expected nxdomain, nodata, null, blockpage, refused, drop or allow (off unless a profile blocks it)
rc=1"
expect_eq "bad TTL" "$(bad '{"dns":{"upstreams":["127.0.0.1:53"],"blocked_ttl":-5}}')" "khiend: $T/bad.json: dns.blocked_ttl: expected a whole number from 0 to 86400
rc=1"
expect_eq "JSON syntax error with line" "$(bad $'{\n"dns": {\n"upstreams": [,]}}')" "khiend: $T/bad.json:3: invalid JSON near ',]}}
'
rc=1"
expect_eq "no upstream" "$(bad '{}')" "khiend: $T/bad.json: dns.upstreams: at least one upstream is required
rc=1"
expect_rc "khiend --help" 0 "$KHIEN_BUILD/khiend" --help
expect_rc "khiend bad option" 2 "$KHIEN_BUILD/khiend" --frobnicate
expect_rc "khienctl --help" 0 "$KHIEN_BUILD/khienctl" --help
expect_rc "khienctl without a daemon" 3 "$KHIEN_BUILD/khienctl" --control "$T/none.sock" status
done_testing
