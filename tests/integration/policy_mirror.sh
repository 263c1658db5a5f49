#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Bundle mirrors (docs/SERVER.md, docs/PROTOCOL.md): the operator names
# mirrors per group (khien-server mirror), a check-in answer lists them to
# a device that needs the bundle, and the device fetches it from a plain
# static web server (python3 -m http.server on a copy of bundles/),
# verifying it as always. Hostile mirrors: a tampered bundle, an old one
# (rollback), an endless body, a huge length, a slow body, a mirror that is
# down: each is refused or bounded, the tampered and old ones are reported
# (policy_rejected naming the mirror), and the device gets the bundle from
# the server in the same sync; its policy is never the mirror's.
. "$(dirname "$0")/lib.sh"
P=$KHIEN_BUILD/khien-policy
PORT=$(rand_port); UP=$((PORT + 1)); DNS=$((PORT + 2)); MP=$((PORT + 3)); HP=$((PORT + 4))
S=$T/srv
for i in $(seq 20); do echo "mirror-$i.example"; done > $T/threats.txt
"$P" compile -q -o $T/idx --list malware=$T/threats.txt >/dev/null 2>&1
init_server $S $PORT || { fail "server init"; done_testing; }
bundle() { "$P" bundle --key $S/dev-keys/policy.key --version $1 --expires +30d --component blocklist=$T/idx -o $T/p$1 >/dev/null; }
bundle 1
"$SRV" publish --dir $S $T/p1 >/dev/null || fail "publish 1"
"$SRV" provision --dir $S --device SN-MIR-1 -o $T/dev >/dev/null || fail "provision"
py "json.dump({**json.load(open('$T/dev/khiend.json')), 'report': {**json.load(open('$T/dev/khiend.json'))['report'], 'mirror_timeout_s': 3}}, open('$T/dev/khiend.json', 'w'))"
chmod -R a+rX $T/dev

# the operator's side
M=http://127.0.0.1:$MP/khien
expect_rc "a mirror is added for every device" 0 "$SRV" mirror --dir $S --add $M
expect_eq "  and listed" "$("$SRV" mirror --dir $S | json_get /dev/stdin '(d["group"], d["url"])')" "('*', '$M')"
expect_rc "  not twice" 1 "$SRV" mirror --dir $S --add $M
for bad in ftp://127.0.0.1/x http://mirror.example/x "http://127.0.0.1/a b" "http://127.0.0.1/x?y=1" http://127.0.0.1/../etc \
	"http://127.0.0.1/$(head -c 200 /dev/zero | tr '\0' a)"; do
	expect_rc "refused: ${bad:0:40}" 1 "$SRV" mirror --dir $S --add "$bad"
done
for i in 1 2 3; do "$SRV" mirror --dir $S --group full --add http://127.0.0.$i/m >/dev/null || fail "add $i"; done
"$SRV" mirror --dir $S --group full --add http://127.0.0.4/m >/dev/null
expect_rc "at most 4 per group" 1 "$SRV" mirror --dir $S --group full --add http://127.0.0.5/m
expect_rc "a mirror is removed" 0 "$SRV" mirror --dir $S --group full --remove http://127.0.0.4/m
expect_rc "  once" 1 "$SRV" mirror --dir $S --group full --remove http://127.0.0.4/m

mkdir -p $T/www/khien
/usr/bin/python3 -m http.server --bind 127.0.0.1 --directory $T/www $MP > $T/www.log 2>&1 &
PIDS+=($!)
start_upstream $UP 1 || exit 1
start_server $S || { fail "server starts"; done_testing; }
echo '{"firmware": "f", "hardware_id": "h", "policy": {"version": 0}}' > $T/ci0.json
echo '{"firmware": "f", "hardware_id": "h", "policy": {"version": 1}}' > $T/ci1.json
as_device $S $T/dev POST /v1/checkin --body $T/ci0.json | sed 1d > $T/a0
as_device $S $T/dev POST /v1/checkin --body $T/ci1.json | sed 1d > $T/a1
expect_eq "a device that needs the bundle is told where else it is" "$(json_get $T/a0 'd["policy"].get("mirrors")')" "['$M/1.bundle']"
expect_eq "  one that has it is not (no lookup)" "$(json_get $T/a1 'd["policy"].get("mirrors")')" "None"
for i in $(seq 30); do curl -s -o /dev/null http://127.0.0.1:$MP/ && break; sleep 0.1; done

start_khiend -c $T/dev/khiend.json --listen 127.0.0.1:$DNS --upstream 127.0.0.1:$UP \
	--user khien --state-dir $T/state || { fail "khiend starts"; done_testing; }
sync() { "$KHIEN_BUILD/khienctl" --control $CTL sync; }
st() { ctl status | json_get /dev/stdin "$1"; }
pol() { st 'd["policy"]["version"]'; }
rejected() { # rejections the server holds, as (version, source) pairs, once the report is in
	for _ in $(seq 50); do [ "$(ctl status | json_get /dev/stdin 'd["report"]["queue"]["pending"]')" = 0 ] && break; sleep 0.1; done
	"$SRV" events --dir $S --device SN-MIR-1 | py "[(d['payload'].get('version'), d['payload'].get('source')) for d in map(json.loads, sys.stdin) if d['type'] == 'policy_rejected']"
}
# the mirror lacks 1.bundle: a 404, then the server
sync > $T/s1 || fail "first sync: $(cat $T/s1)"
expect_eq "a mirror without the file: the device falls back to the server" "$(pol):$(st 'd["report"]["mirrors"]["failed"]')" "1:1"
grep -q "GET /khien/1.bundle.* 404" $T/www.log && ok "  (the mirror was asked)" || fail "mirror not asked: $(cat $T/www.log)"

# a good mirror: a copy of the server's bundles/
bundle 2 && "$SRV" publish --dir $S $T/p2 >/dev/null || fail "publish 2"
cp $S/bundles/2.bundle $T/www/khien/
sync > $T/s2 || fail "sync 2: $(cat $T/s2)"
expect_eq "the bundle comes from the mirror and is applied" "$(pol):$(st 'd["report"]["mirrors"]["downloads"]')" "2:1"
grep -q "GET /khien/2.bundle.* 200" $T/www.log && ok "  (a plain static web server)" || fail "mirror log: $(cat $T/www.log)"
grep -q "policy 2 fetched from mirror $M/2.bundle" $T/khiend.log && ok "  and the agent says so" || fail "no mirror line"

# tampered: one byte changed; the device refuses it, reports it, gets the good one from the server
bundle 3 && "$SRV" publish --dir $S $T/p3 >/dev/null || fail "publish 3"
python3 -c "import sys; b = bytearray(open(sys.argv[1], 'rb').read()); b[len(b) // 2] ^= 1; open(sys.argv[2], 'wb').write(b)" $S/bundles/3.bundle $T/www/khien/3.bundle
sync > $T/s3 || fail "sync 3: $(cat $T/s3)"
expect_eq "a tampered bundle from the mirror is refused, the server's applied" "$(pol)" "3"
expect_eq "  and the server holds the device's policy_rejected naming the mirror" "$(rejected)" "[(3, '$M/3.bundle')]"
grep -q "from mirror $M/3.bundle refused: download does not match the announced SHA-256" $T/khiend.log && ok "  the log says why" || fail "no refusal line"

# rollback: the mirror serves the old bundle 1 under the new name
bundle 4 && "$SRV" publish --dir $S $T/p4 >/dev/null || fail "publish 4"
cp $T/p1 $T/www/khien/4.bundle
sync > $T/s4 || fail "sync 4: $(cat $T/s4)"
expect_eq "an old bundle from the mirror is refused (rollback), the server's applied" "$(pol)" "4"
expect_eq "  reported" "$(rejected)" "[(3, '$M/3.bundle'), (4, '$M/4.bundle')]"

# hostile mirrors that never end or crawl: bounded, then the server
hostile() { # MODE VERSION: a hostile mirror instead of the good one, and a new bundle
	"$SRV" mirror --dir $S --remove ${CUR:-$M} >/dev/null
	CUR=http://127.0.0.1:$HP/h
	"$SRV" mirror --dir $S --add $CUR >/dev/null || fail "add hostile mirror"
	bundle $2 && "$SRV" publish --dir $S $T/p$2 >/dev/null || fail "publish $2"
	/usr/bin/python3 "$KHIEN_TOP/tests/integration/mirror_hostile.py" $HP $1 $T/hostile.log $S/bundles/$2.bundle &
	HPID=$!
	PIDS+=($HPID)
	for _ in $(seq 30); do (echo > /dev/tcp/127.0.0.1/$HP) 2>/dev/null && break; sleep 0.1; done
}
hostile endless 5
t0=$(date +%s)
sync > $T/s5 || fail "sync 5: $(cat $T/s5)"
expect_eq "an endless body (no length) is refused at its head, the server's bundle applied" "$(pol):$(($(date +%s) - t0 < 10))" "5:1"
expect_eq "  and no byte of it was kept" "$(ls $T/state/spool/ | grep -c download)" "0"
kill $HPID; wait $HPID 2>/dev/null
hostile huge 6
sync > $T/s6 || fail "sync 6: $(cat $T/s6)"
expect_eq "a length that is not the bundle's is refused, the server's applied" "$(pol)" "6"
kill $HPID; wait $HPID 2>/dev/null
hostile slow 7
t0=$(date +%s)
sync > $T/s7 || fail "sync 7: $(cat $T/s7)"
dt=$(($(date +%s) - t0))
expect_eq "a slow body is cut at report.mirror_timeout_s (3 s; took $dt s), the server's applied" "$(pol):$([ $dt -ge 3 ] && [ $dt -le 15 ] && echo bounded)" "7:bounded"
grep -q "mirror $CUR/7.bundle: no whole bundle within 3 s" $T/khiend.log && ok "  saying so" || fail "no timeout line"
kill $HPID; wait $HPID 2>/dev/null
# an error page without a length: not the bundle, not an incident
hostile page 8
sync > $T/s8 || fail "sync 8: $(cat $T/s8)"
expect_eq "a mirror's endless 404 page: the server's bundle" "$(pol)" "8"
kill $HPID; wait $HPID 2>/dev/null
# a mirror that is down: the server, and no incident
bundle 9 && "$SRV" publish --dir $S $T/p9 >/dev/null || fail "publish 9"
sync > $T/s9 || fail "sync 9: $(cat $T/s9)"
expect_eq "a mirror that is down: the server's bundle" "$(pol)" "9"
expect_eq "incidents: tampered, old, endless, wrong length; not slow, not a 404, not down" "$(rejected)" "[(3, '$M/3.bundle'), (4, '$M/4.bundle'), (5, '$CUR/5.bundle'), (6, '$CUR/6.bundle')]"
expect_eq "the server sees the device on bundle 9" "$("$SRV" devices --dir $S | json_get /dev/stdin 'd["policy_version"]')" "9"
stop_khiend
stop_server
done_testing
