#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Infected devices end to end (docs/WEB.md "Infected devices"): a device
# provisioned on a real khien-server, two LAN clients on 127.0.0.0/8, one
# of which asks twice for a malware-listed name and the other once for a
# phishing one. The status page shows both with the threat and advice, the
# block page says so to the infected client only, the events carry the
# client's pseudonym (never the address), and `khien-server warnings`
# lists device, pseudonym, threat, first and last seen and count. Then the
# ISP pushes a notice (operator command) that the status page shows. Both
# survive a restart and a crash of khiend (STATE/spool/infected and
# notice, the engine's, 0600); a damaged or foreign-owned one is refused
# with a log line and khiend still answers DNS.
# server_pg.sh runs this on PostgreSQL too.
. "$(dirname "$0")/lib.sh"
P=$KHIEN_BUILD/khien-policy
L=$FIX/lists
PORT=$(rand_port); UP=$((PORT + 1)); DNS=$((PORT + 2)); WEB=$((PORT + 3))
S=$T/srv

init_server $S $PORT || { fail "server init"; done_testing; }
"$SRV" provision --dir $S --device SN-WARN-1 --group home -o $T/dev1 >/dev/null || fail "provision"
echo "login-bank.example" >$T/phish.txt
"$P" compile -q -o $T/idx1 --list malware=$L/malware.hosts --list phishing=$T/phish.txt \
	--list gambling=$L/gambling.txt >/dev/null 2>&1
"$P" bundle --key $S/dev-keys/policy.key --version 1 --expires +30d --component blocklist=$T/idx1 -o $T/p1 >/dev/null
"$SRV" publish --dir $S $T/p1 >/dev/null || fail "publish"
start_server $S || { fail "server starts"; done_testing; }
start_upstream $UP 1 || exit 1
python3 - "$T/dev1/khiend.json" "$WEB" <<'PY'
import json, sys
c = json.load(open(sys.argv[1]))
c["report"]["interval_s"] = 3600
c.setdefault("dns", {})["blockpage"] = {"ipv4": "127.0.0.1"}
c["dns"].setdefault("categories", {})["malware"] = {"action": "blockpage"}
c["web"] = {"listen": ["127.0.0.1:%s" % sys.argv[2]], "isp_name": "Nhà mạng Thử", "rate": 50}
json.dump(c, open(sys.argv[1], "w"))
PY
chmod -R a+rX $T/dev1
start_dev() {
	start_khiend -c $T/dev1/khiend.json --listen 127.0.0.1:$DNS --upstream 127.0.0.1:$UP \
		--hardware-id hw-warn --user khien
}
start_dev || { fail "khiend starts"; done_testing; }
ctl sync >/dev/null
for _ in $(seq 50); do [ "$(ctl status | json_get /dev/stdin 'd["policy"]["version"]')" = "1" ] && break; sleep 0.1; done
expect_eq "the device runs the published policy" "$(ctl status | json_get /dev/stdin 'd["policy"]["version"]')" "1"

D() { dig +time=3 +tries=1 @127.0.0.1 -p $DNS "$@"; }
t0=$(date +%s)
expect_eq "a malware-listed name is blocked" "$(D +short -b 127.0.0.1 malware-c2.example)" "127.0.0.1"
D -b 127.0.0.1 www.malware-c2.example >/dev/null # the same rule: folded into one event as a repeat
D -b 127.0.0.3 login-bank.example >/dev/null
D -b 127.0.0.4 www.casino-example.com >/dev/null # gambling: blocked, not a threat
D -b 127.0.0.4 example.org >/dev/null
t1=$(date +%s)

http() { # SRC HOST PATH
	python3 - "$WEB" "$@" <<'PY'
import socket, sys
port, src, host, path = int(sys.argv[1]), sys.argv[2], sys.argv[3], sys.argv[4]
s = socket.socket(); s.bind((src, 0)); s.settimeout(5); s.connect(("127.0.0.1", port))
s.sendall(("GET %s HTTP/1.1\r\nHost: %s\r\n\r\n" % (path, host)).encode()); o = b""
while True:
    b = s.recv(65536)
    if not b: break
    o += b
print(o.decode("utf-8", "replace"))
PY
}
out=$(http 127.0.0.4 127.0.0.1 /)
for want in "Thiết bị có thể bị nhiễm mã độc: 127.0.0.1" "Thiết bị có thể bị nhiễm mã độc: 127.0.0.3" \
	"Thiết bị đã 2 lần truy vấn tên miền thuộc loại <strong>Phần mềm độc hại</strong> (www.malware-c2.example)" \
	"Lừa đảo giả mạo (phishing)</strong> (login-bank.example)" "Nên làm:"; do
	echo "$out" | grep -qF "$want" || fail "status page shows: $want"
done
! echo "$out" | grep -qF "nhiễm mã độc: 127.0.0.4" && ok "status page: the two infected devices with threat and advice, not the clean one" ||
	fail "clean device listed as infected"
out=$(http 127.0.0.4 127.0.0.1 '/?lang=en')
echo "$out" | grep -qF "Device may be infected: 127.0.0.3" && echo "$out" | grep -qF "Phishing</strong>" &&
	ok "the same in English" || fail "infected devices in English"
out=$(http 127.0.0.1 malware-c2.example /)
echo "$out" | grep -qF "Thiết bị của bạn có thể đã bị nhiễm mã độc" && echo "$out" | grep -qF "Trang này đã bị chặn" &&
	ok "the infected client's block page says its device may be infected" || fail "block page, infected client"
out=$(http 127.0.0.4 malware-c2.example /)
echo "$out" | grep -qF "Trang này đã bị chặn" && ! echo "$out" | grep -qF "bị nhiễm mã độc" &&
	ok "another client's block page does not" || fail "block page, clean client"

expect_rc "khienctl sync" 0 ctl sync
"$SRV" events --dir $S --device SN-WARN-1 >$T/events
"$SRV" warnings --dir $S >$T/warnings
expect_eq "warnings: one JSON line per infected client and threat" "$(wc -l <$T/warnings)" "2"
python3 -c "
import json, re
ev = [json.loads(l) for l in open('$T/events')]
w = sorted((json.loads(l) for l in open('$T/warnings')), key=lambda x: x['threat'])
pseud = {e['payload']['name']: e['payload']['client'] for e in ev}
m, p = w
assert (m['device'], m['threat'], m['count']) == ('SN-WARN-1', 'malware', 2), m
assert (p['device'], p['threat'], p['count']) == ('SN-WARN-1', 'phishing', 1), p
assert m['client'] == pseud['malware-c2.example'] and p['client'] == pseud['login-bank.example'], (w, pseud)
assert m['client'] != p['client']
for x in w:
    # a pseudonym is 16 hex digits (which may well contain 127), never the address
    assert re.fullmatch('[0-9a-f]{16}', x['client']), x
    assert $t0 - 2 <= x['first_seen'] <= x['last_seen'] <= $t1 + 2, x
print('ok')
" >$T/check 2>&1
expect_eq "warnings: device, the events' client pseudonym, threat, first and last seen, count" "$(tail -1 $T/check)" "ok"
! grep -q "127.0.0" $T/warnings $T/events && ok "no client address reaches the server" || fail "a client address reached the server"
"$SRV" warnings --dir $S --device SN-NONE >$T/w2
expect_eq "warnings --device filters" "$(wc -l <$T/w2)" "0"

# the ISP's notice, pushed as an operator command, on the status page
python3 -c 'import json; print(json.dumps({"type": "notice", "arg": "Thiết bị 127.0.0.1 đang liên lạc với máy chủ mã độc. Gọi 1800 1091 & <b>hỗ trợ</b>."}))' >$T/notice.json
operator $S POST /v1/admin/devices/SN-WARN-1/commands --body $T/notice.json >$T/o1
expect_eq "POST .../commands queues a notice" "$(sed -n 1p $T/o1)" "201"
printf '{"type": "notice", "arg": "bad\\u0007bell"}' >$T/bad.json
operator $S POST /v1/admin/devices/SN-WARN-1/commands --body $T/bad.json >$T/o2
expect_eq "a notice with control characters is refused" "$(sed -n 1p $T/o2)" "400"
ctl sync >/dev/null
out=$(http 127.0.0.4 127.0.0.1 /)
echo "$out" | grep -qF "Thông báo của nhà mạng: </strong>Thiết bị 127.0.0.1 đang liên lạc với máy chủ mã độc. Gọi 1800 1091 &amp; &lt;b&gt;hỗ trợ&lt;/b&gt;." &&
	ok "the status page shows the ISP's notice (escaped)" || { fail "notice on the status page"; echo "$out" | grep -i notice | sed 's/^/#  /'; }
kill -0 $KPID && ok "khiend still running" || fail "khiend died"

# --- both survive a restart: kept in the engine's spool, the engine's own, 0600
INF=$T/state/spool/infected NOTE=$T/state/spool/notice
for _ in $(seq 30); do [ -f $INF ] && break; sleep 0.1; done
expect_eq "the infected list is kept in STATE/spool/infected (khien's, 0600)" "$(stat -c '%U %a' $INF 2>&1)" "khien 600"
expect_eq "the notice is kept in STATE/spool/notice (khien's, 0600)" "$(stat -c '%U %a' $NOTE 2>&1)" "khien 600"
# status_has WHAT...: the status page (from a clean client) shows every WHAT
status_has() {
	local out
	out=$(http 127.0.0.4 127.0.0.1 /)
	for want in "$@"; do echo "$out" | grep -qF "$want" || { echo "#  missing: $want"; return 1; }; done
}
KEPT=("Thiết bị có thể bị nhiễm mã độc: 127.0.0.1" "Thiết bị có thể bị nhiễm mã độc: 127.0.0.3"
	"Thiết bị đã 2 lần truy vấn tên miền thuộc loại <strong>Phần mềm độc hại</strong> (www.malware-c2.example)"
	"Thông báo của nhà mạng: </strong>Thiết bị 127.0.0.1 đang liên lạc với máy chủ mã độc.")
# the writes happen when the list changes, not per query: a repeat is counted, kept within a minute
m0=$(stat -c %Y.%N $INF 2>/dev/null; stat -c %y $INF)
D -b 127.0.0.1 malware-c2.example >/dev/null
sleep 1.5
expect_eq "a repeat query is not written at once (counts: within a minute, or at exit)" "$(stat -c %Y.%N $INF 2>/dev/null; stat -c %y $INF)" "$m0"
stop_khiend
grep -q "^127.0.0.1:0 [0-9]* [0-9]* 3 malware malware-c2.example$" $INF && ok "stopping khiend writes the last counts" ||
	{ fail "counts at exit"; sed 's/^/#  /' $INF; }
start_dev || { fail "khiend restarts"; done_testing; }
KEPT[2]="Thiết bị đã 3 lần truy vấn tên miền thuộc loại <strong>Phần mềm độc hại</strong> (malware-c2.example)"
status_has "${KEPT[@]}" && ok "after a restart: the infected devices (threat, count) and the ISP's notice are on the status page" ||
	fail "status page after a restart"
# a crash: the engine killed outright, nothing flushed; what was kept stays
kill -9 "$(engine_pid)" $KPID 2>/dev/null; wait $KPID 2>/dev/null
start_dev || { fail "khiend restarts after a crash"; done_testing; }
status_has "${KEPT[@]}" && ok "after a crash (SIGKILL): the same" || fail "status page after a crash"
stop_khiend

# damaged: a count of 0 and an extra field; the notice owned by root (not the engine's own)
cp $INF $T/infected.good
sed -i '2s/ 3 malware / 0 malware /' $INF
chown root $NOTE
start_dev || { fail "khiend starts with damaged files"; done_testing; }
grep -qF "$INF: line 2: bad count: refused; the infected-device list starts empty" $T/khiend.log &&
	ok "a damaged infected list is refused with a log line naming the line" || { fail "damaged infected log"; grep -i infected $T/khiend.log | sed 's/^/#  /'; }
grep -qF "$NOTE: owned by another user: refused" $T/khiend.log &&
	ok "a notice file not the engine's own is refused with a log line" || { fail "foreign notice log"; grep -i notice $T/khiend.log | sed 's/^/#  /'; }
out=$(http 127.0.0.4 127.0.0.1 /)
! echo "$out" | grep -qF "nhiễm mã độc: 127.0.0.1" && ! echo "$out" | grep -qF "Thông báo của nhà mạng" &&
	ok "neither reaches the status page" || fail "a refused file reached the page"
expect_eq "khiend still answers DNS (a blocked name)" "$(D +short -b 127.0.0.4 malware-c2.example)" "127.0.0.1"
expect_eq "and a clean one" "$(D +short -b 127.0.0.4 example.org | head -1)" "$(dig +short @127.0.0.1 -p $UP example.org | head -1)"
stop_khiend
# planted: more devices than the list holds, an address twice, a symlink, a file others may write
for bad in "line 10: more than 8 devices" "line 3: a device listed twice" "a symbolic link" "readable or writable by other users"; do
	case $bad in
	*more*) { echo "khien-infected 1"; for i in $(seq 9); do echo "127.0.1.$i:0 1 2 1 malware x.example"; done; } >$INF ;;
	*twice*) printf 'khien-infected 1\n127.0.0.9:0 1 2 1 malware x.example\n127.0.0.9:0 1 2 1 botnet y.example\n' >$INF ;;
	*symbolic*) rm -f $INF; ln -s $T/infected.good $INF ;;
	*other*) rm -f $INF; cp $T/infected.good $INF; chmod 666 $INF ;;
	esac
	chown -h khien $INF
	start_dev || { fail "khiend starts ($bad)"; continue; }
	grep -qF "$bad" $T/khiend.log && ! status_has "nhiễm mã độc: 127.0.0." >/dev/null &&
		ok "infected list refused: $bad" || { fail "infected list: $bad"; grep -i infected $T/khiend.log | sed 's/^/#  /'; }
	stop_khiend
done
rm -f $INF
start_dev || fail "khiend restarts"
# a sanitizer build writes its findings to the log when khiend exits
stop_khiend
! grep -qE "AddressSanitizer|LeakSanitizer|runtime error" "$T/khiend.log" && ok "no sanitizer finding in khiend's log" ||
	{ fail "sanitizer finding"; grep -E -A5 "Sanitizer|runtime error" "$T/khiend.log" | head -20 | sed 's/^/#  /'; }
done_testing
