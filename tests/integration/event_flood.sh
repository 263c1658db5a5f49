#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# A LAN client cannot flush the real alert before it is uploaded. One
# client looks up a genuine C2 name; then hostile clients send bursts of
# unique names under a blocked wildcard, and of many different blocked
# rules, all high severity, into a small queue. After the sync the server
# must hold the C2 event, each flood aggregated (repeats / suppressed
# counts), and the queue's drops counted.
. "$(dirname "$0")/lib.sh"
P=$KHIEN_BUILD/khien-policy
PORT=$(rand_port); UP=$((PORT + 1)); DNS=$((PORT + 2))
S=$T/srv
echo c2-real.botnet-example.net > $T/c2.txt
echo flood.example > $T/flood.txt
for i in $(seq 200); do echo "rule-$i.example"; done > $T/many.txt
"$P" compile -q -o $T/idx --list botnet=$T/c2.txt --list malware=$T/flood.txt \
	--list malware=$T/many.txt >/dev/null 2>&1
init_server $S $PORT || { fail "server init"; done_testing; }
"$P" bundle --key $S/dev-keys/policy.key --version 1 --expires +30d --component blocklist=$T/idx -o $T/p1 >/dev/null
"$SRV" publish --dir $S $T/p1 >/dev/null || fail "publish"
"$SRV" provision --dir $S --device SN-FLOOD-1 -o $T/dev >/dev/null || fail "provision"
python3 - "$T/dev/khiend.json" <<'PY'
import json, sys
c = json.load(open(sys.argv[1]))
c["report"]["queue_events"] = 32
c["report"]["interval_s"] = 3600
json.dump(c, open(sys.argv[1], "w"))
PY
chmod -R a+rX $T/dev
start_upstream $UP 1 || exit 1
start_server $S || { fail "server starts"; done_testing; }
start_khiend -c $T/dev/khiend.json --listen 127.0.0.1:$DNS --upstream 127.0.0.1:$UP --user khien ||
	{ fail "khiend starts"; done_testing; }
ctl sync >/dev/null || fail "first sync (policy 1)"
expect_eq "device is on policy 1" "$(ctl status | json_get /dev/stdin 'd["policy"]["version"]')" "1"
# the server is away (an outage, or the flood's timing): the alert must survive in the queue
stop_server
# the genuine first sign of an infection, from 127.0.0.10
dig +time=2 +tries=1 -b 127.0.0.10 @127.0.0.1 -p $DNS c2-real.botnet-example.net >/dev/null
# the flood: 127.0.0.20 sends 2000 unique names under one blocked wildcard,
# 127.0.0.21 walks 200 different blocked rules, 127.0.0.30-59 join in
python3 - $DNS <<'PY'
import socket, struct, sys, random
port = int(sys.argv[1])
def q(src, name):
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.bind((src, 0))
    qid = random.randrange(65536)
    pkt = struct.pack(">HHHHHH", qid, 0x0100, 1, 0, 0, 0)
    for l in name.split("."): pkt += bytes([len(l)]) + l.encode()
    pkt += b"\0" + struct.pack(">HH", 1, 1)
    s.sendto(pkt, ("127.0.0.1", port)); s.settimeout(2)
    try: s.recv(4096)
    except OSError: pass
    s.close()
for i in range(2000): q("127.0.0.20", "x%d-%d.flood.example" % (i, random.randrange(1 << 30)))
for i in range(1, 201): q("127.0.0.21", "rule-%d.example" % i)
for c in range(30, 60):
    for i in range(1, 40): q("127.0.0.%d" % c, "rule-%d.example" % (i + c))
PY
ctl status > $T/st.json
py "json.load(open('$T/st.json'))['report']['queue']" | sed 's/^/# queue: /'
start_server $S || fail "server restarts"
ctl sync >/dev/null || fail "sync after the flood"
"$SRV" events --dir $S --since 0 > $T/events.jsonl
n_c2=$(grep -c '"c2-real.botnet-example.net"' $T/events.jsonl)
expect_eq "the genuine C2 lookup reached the server" "$n_c2" "1"
python3 - $T/events.jsonl $T/st.json > $T/agg.out <<'PY'
import json, sys
ev = [json.loads(l) for l in open(sys.argv[1]) if l.strip()]
st = json.load(open(sys.argv[2]))["report"]["queue"]
wild = [e for e in ev if e["payload"].get("rule", "").endswith("flood.example")]
print("wildcard_events", len(wild))
print("flood_counted", st["suppressed_repeats"] + st["suppressed_over_rate"] > 2000)
print("bounded", len(ev) <= 32)
PY
expect_eq "the wildcard flood is one event per (client, rule) a minute" "$(grep wildcard_events $T/agg.out)" "wildcard_events 1"
expect_eq "the flood is counted, not queued" "$(grep flood_counted $T/agg.out)" "flood_counted True"
expect_eq "what reached the server is bounded by the queue" "$(grep bounded $T/agg.out)" "bounded True"
ctl status | json_get /dev/stdin 'd["report"]["queue"]["dropped"]["high"] > 0 or d["report"]["queue"]["suppressed_over_rate"] > 0' > $T/d.out
expect_eq "the excess is visible in the device's counts" "$(cat $T/d.out)" "True"
stop_khiend; stop_server
done_testing
