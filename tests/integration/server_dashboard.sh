#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# The operator dashboard (docs/SERVER.md "Dashboard") against the real
# server holding data that devices sent over mutual TLS (dash_data.py: check-
# ins, events, audit results, some fields hostile HTML), plus a staged
# rollout and 50 more devices for paging. curl checks the login (a wrong
# token refused, the cookie's attributes, the lockout after 5 failures), the
# headers (no-store, a CSP without scripts or outside sources), the keyset
# paging of the device and event lists, and that a form without or with a
# wrong CSRF token, or from another origin, changes nothing. Headless
# Chromium logs in through the form, opens every page in Vietnamese and
# English (screenshots in build/screenshots/dashboard-*.png), and the
# rendered text must hold the numbers the data makes; hostile text is shown
# as text, never markup. Revoke, clicked on the device page, revokes: the
# device's next check-in is refused. Runs on SQLite and, from server_pg.sh,
# on PostgreSQL.
. "$(dirname "$0")/lib.sh"
P=$KHIEN_BUILD/khien-policy
PORT=$(rand_port)
S=$T/srv
U=https://127.0.0.1:$PORT
SHOTS=$KHIEN_BUILD/screenshots
mkdir -p "$SHOTS"
CURL="curl -s --max-time 20 --cacert $S/server-ca.pem"

init_server $S $PORT || { fail "init"; done_testing; }
TOKEN=$(cat $S/operator.token)
for i in 01 02 03 04 05 06; do
	"$SRV" provision --dir $S --device SN-D-$i --group home -o $T/devs/SN-D-$i >/dev/null || fail "provision SN-D-$i"
done
for i in $(seq -w 1 50); do
	"$SRV" provision --dir $S --device SN-P-$i --group bulk -o $T/bulk/SN-P-$i >/dev/null || fail "provision SN-P-$i"
done
expect_rc "a serial with HTML in it cannot even be provisioned" 1 "$SRV" provision --dir $S --device '<b>x</b>' -o $T/x
start_server $S || { fail "server starts"; done_testing; }
python3 "$(dirname "$0")/dash_data.py" $PORT $S/server-ca.pem $T/devs > $T/data 2>$T/data.err
expect_eq "the devices' check-ins, events and audits are accepted" "$(grep -cv ' 200$' $T/data) $(wc -l < $T/data)" "0 13"
# a staged rollout to show: version 1 to half of group home
"$P" compile -q -o $T/idx --list malware=$FIX/lists/malware.hosts >/dev/null 2>&1 || fail "compile"
"$P" bundle --key $S/dev-keys/policy.key --version 1 --expires +30d --component blocklist=$T/idx -o $T/p1 >/dev/null || fail "bundle"
expect_rc "version 1 to 50% of group home" 0 "$SRV" publish --dir $S $T/p1 --group home --stage 50%
"$SRV" rollout --dir $S --group home > $T/ro
ro_devices=$(json_get $T/ro 'd["total"]["devices"]')
ro_applied=$(json_get $T/ro 'd["total"]["applied"]')

# ---- login and headers (curl)
$CURL -D $T/h0 -o /dev/null $U/dashboard/
expect_eq "a page without a session sends the browser to the login form" "$(head -1 $T/h0 | tr -d '\r') $(grep -i '^Location:' $T/h0 | tr -d '\r')" \
	"HTTP/1.1 303 See Other Location: /dashboard/login"
$CURL -D $T/h1 -o $T/login.html $U/dashboard/login
expect_eq "the login form: 200, never cached" "$(head -1 $T/h1 | cut -d' ' -f2) $(grep -i '^Cache-Control:' $T/h1 | tr -d '\r')" "200 Cache-Control: no-store"
csp=$(grep -i '^Content-Security-Policy:' $T/h1 | tr -d '\r')
case "$csp" in
*"default-src 'none'"*"form-action 'self'"*"frame-ancestors 'none'"*) ok "a strict CSP: nothing from elsewhere, no scripts, own forms only" ;;
*) fail "CSP: $csp" ;;
esac
grep -qi "script-src\|unsafe-eval\|http:" <<<"$csp" && fail "the CSP allows scripts or outside sources: $csp" || ok "  no script-src at all (inline CSS only)"
grep -q '<script' $T/login.html && fail "the login page has a script" || ok "the pages need no script"
login() { $CURL -D $T/hl -o $T/lb --data-urlencode "password=$1" $U/dashboard/login; head -1 $T/hl | cut -d' ' -f2; }
expect_eq "a wrong token is refused (401)" "$(login wrong-token-0123456789)" "401"
grep -qi '^Set-Cookie' $T/hl && fail "  a refused login sets a cookie" || ok "  and gets no cookie"
grep -q "Sai mã truy cập" $T/lb && ok "  saying so (Vietnamese)" || fail "wrong token page: $(head -c 300 $T/lb)"
expect_eq "the operator token logs in (303 to the overview)" "$(login "$TOKEN") $(grep -i '^Location:' $T/hl | tr -d '\r')" "303 Location: /dashboard/"
cookie_line=$(grep -i '^Set-Cookie:' $T/hl | tr -d '\r')
case "$cookie_line" in
*"khien_op="*"HttpOnly"*"Secure"*"SameSite=Strict"*) ok "the session cookie is HttpOnly, Secure, SameSite=Strict" ;;
*) fail "cookie: $cookie_line" ;;
esac
SID=$(sed -n 's/.*khien_op=\([0-9a-f]*\);.*/\1/p' <<<"$cookie_line")
expect_eq "  with a random 256-bit id and an expiry" "${#SID} $(grep -o 'Max-Age=[0-9]*' <<<"$cookie_line")" "64 Max-Age=28800"
login "$TOKEN" >/dev/null
SID2=$(grep -i '^Set-Cookie:' $T/hl | sed -n 's/.*khien_op=\([0-9a-f]*\);.*/\1/p')
[ -n "$SID2" ] && [ "$SID2" != "$SID" ] && ok "  a new id for each login" || fail "same session id twice"
C="$CURL -H Cookie:khien_op=$SID"
expect_eq "the session opens the pages" "$($C -o /dev/null -w '%{http_code}' $U/dashboard/compliance)" "200"
expect_eq "a made-up session id does not" "$($CURL -H "Cookie: khien_op=$(printf '%064d' 7)" -o /dev/null -w '%{http_code}' $U/dashboard/compliance)" "303"
expect_eq "Accept-Language that prefers English gets English" "$($C -H 'Accept-Language: en-US,en;q=0.9,vi;q=0.8' $U/dashboard/ | grep -o '<html lang="[a-z]*"')" '<html lang="en"'
expect_eq "  one that prefers Vietnamese, Vietnamese" "$($C -H 'Accept-Language: vi-VN,vi;q=0.9,en;q=0.8' $U/dashboard/ | grep -o '<html lang="[a-z]*"')" '<html lang="vi"'
expect_eq "  ?lang=en wins over it" "$($C -H 'Accept-Language: vi' "$U/dashboard/?lang=en" | grep -o '<html lang="[a-z]*"')" '<html lang="en"'
expect_eq "the bearer header opens them too" "$($CURL -H "Authorization: Bearer $TOKEN" -o /dev/null -w '%{http_code}' $U/dashboard/incidents)" "200"
expect_eq "  a wrong bearer token does not" "$($CURL -H "Authorization: Bearer wrong-token-0123456789" -o /dev/null -w '%{http_code}' $U/dashboard/incidents)" "303"

# ---- keyset paging (56 devices, 68 events; 50 a page)
rows() { grep -o '<tr><td' "$1" | wc -l; }
$C -o $T/dev1.html $U/dashboard/devices
next=$(grep -o 'href="/dashboard/devices?after=[^"]*"' $T/dev1.html | sed 's/href="//; s/"$//; s/&amp;/\&/g')
expect_eq "device list: 50 on the first page, the next after SN-P-44" "$(rows $T/dev1.html) $next" "50 /dashboard/devices?after=SN-P-44"
$C -o $T/dev2.html "$U$next"
expect_eq "  the second page: the last 6, no next page" "$(rows $T/dev2.html) $(grep -c 'rel="next"' $T/dev2.html) $(grep -o 'SN-P-[0-9]*' $T/dev2.html | sort -u | head -1)" "6 0 SN-P-45"
$C -o $T/ev1.html $U/dashboard/events
older=$(grep -o 'href="/dashboard/events?before=[^"]*"' $T/ev1.html | sed 's/href="//; s/"$//; s/&amp;/\&/g')
expect_eq "event list: the newest 50, then older ones" "$(rows $T/ev1.html) $older" "50 /dashboard/events?before=19&device="
$C -o $T/ev2.html "$U$older"
expect_eq "  the second page: the 18 oldest, none further" "$(rows $T/ev2.html) $(grep -c 'rel="next"' $T/ev2.html)" "18 0"
$C -o $T/ev3.html "$U/dashboard/events?device=SN-D-02"
expect_eq "  one device's events" "$(rows $T/ev3.html)" "2"
expect_eq "  a cursor that is not a number is refused" "$($C -o /dev/null -w '%{http_code}' "$U/dashboard/events?before=1%20OR%201")" "400"
$C -o $T/nodev.html "$U/dashboard/device/%3Cb%3Ex%3C%2Fb%3E"
expect_eq "a device path with HTML: 404, nothing of it echoed" "$($C -o /dev/null -w '%{http_code}' "$U/dashboard/device/%3Cb%3Ex%3C%2Fb%3E") $(grep -c '<b>x' $T/nodev.html)" "404 0"

# ---- hostile text from devices stays text
$C -o $T/inc.html $U/dashboard/incidents
$C -o $T/ov.html $U/dashboard/
grep -q '&lt;img src=x onerror=alert(1)&gt;.example' $T/inc.html && ok "a hostile threat name is escaped" || fail "threat name not escaped"
grep -q '&lt;b&gt;fw&lt;/b&gt;&lt;script&gt;alert(1)&lt;/script&gt;' $T/ov.html && ok "a hostile firmware name is escaped" || fail "firmware not escaped"
expect_eq "  no markup from a device reaches a page" "$(cat $T/inc.html $T/ov.html | grep -c '<script\|<img\|<b>fw')" "0"

# ---- forms need the session's CSRF token
$C -o $T/d4.html $U/dashboard/device/SN-D-04
CSRF=$(grep -o 'name="csrf" value="[0-9a-f]*"' $T/d4.html | head -1 | sed 's/.*value="//; s/"//')
expect_eq "the device page's revoke form carries a CSRF token" "${#CSRF}" "64"
# per JSON line of stdin: EXPR over d
lines() { python3 -c "import json,sys; [print(eval(sys.argv[1])) for d in map(json.loads, sys.stdin)]" "$1"; }
dev_status() { "$SRV" devices --dir $S | lines 'd["status"] if d["serial"] == "'$1'" else ""' | grep .; }
expect_eq "a revoke without the CSRF token is refused" "$($C -o $T/r1 -w '%{http_code}' -X POST --data '' $U/dashboard/device/SN-D-04/revoke)" "403"
grep -q "CSRF" $T/r1 && ok "  saying why" || fail "no-CSRF page: $(head -c 200 $T/r1)"
expect_eq "  with a wrong one too" "$($C -o /dev/null -w '%{http_code}' --data "csrf=$(printf '%064d' 0)" $U/dashboard/device/SN-D-04/revoke)" "403"
expect_eq "  with the right one from another origin too" "$($C -o /dev/null -w '%{http_code}' -H 'Origin: https://evil.example' --data "csrf=$CSRF" $U/dashboard/device/SN-D-04/revoke)" "403"
expect_eq "  without a session too" "$($CURL -o /dev/null -w '%{http_code}' --data "csrf=$CSRF" $U/dashboard/device/SN-D-04/revoke)" "403"
expect_eq "  the token of another session too" "$($CURL -H "Cookie: khien_op=$SID2" -o /dev/null -w '%{http_code}' --data "csrf=$CSRF" $U/dashboard/device/SN-D-04/revoke)" "403"
expect_eq "  and the device stays active" "$(dev_status SN-D-04)" "active"
expect_eq "a logout without the CSRF token is refused" "$($C -o /dev/null -w '%{http_code}' --data '' $U/dashboard/logout)" "403"
expect_eq "  and the session still works" "$($C -o /dev/null -w '%{http_code}' $U/dashboard/)" "200"
L2=$($CURL -H "Cookie: khien_op=$SID2" $U/dashboard/ | grep -o 'name="csrf" value="[0-9a-f]*"' | head -1 | sed 's/.*value="//; s/"//')
expect_eq "a logout with it ends the session" "$($CURL -H "Cookie: khien_op=$SID2" -o /dev/null -w '%{http_code}' --data "csrf=$L2" $U/dashboard/logout) $($CURL -H "Cookie: khien_op=$SID2" -o /dev/null -w '%{http_code}' $U/dashboard/)" "303 303"

# ---- headless Chromium: every page, both languages
CHROME=$(command -v chromium || command -v chromium-browser || true)
if [ -z "$CHROME" ]; then
	skip "headless Chromium renders the dashboard" "chromium not installed (scripts/deps.sh test)"
else
	pages="/dashboard/ /dashboard/incidents /dashboard/incidents?range=7d /dashboard/compliance /dashboard/warnings /dashboard/devices /dashboard/events /dashboard/device/SN-D-05"
	args=()
	for lang in vi en; do
		for p in $pages; do
			name=$(sed 's|/dashboard/||; s|[/?=]|-|g; s|^$|overview|' <<<"$p")
			q=$([ $lang = en ] && { [[ $p == *\?* ]] && echo "&lang=en" || echo "?lang=en"; })
			args+=("$U$p$q|$SHOTS/dashboard-$name-$lang.png")
		done
	done
	args+=("$U/dashboard/device/SN-D-04|$SHOTS/dashboard-device-SN-D-04-before.png" "click:form.revoke button|$SHOTS/dashboard-device-SN-D-04-revoked.png")
	CDP_IGNORE_CERT_ERRORS=1 CDP_WINDOW=1280,1000 timeout 300 python3 "$(dirname "$0")/cdp_page.py" "$CHROME" \
		$U/dashboard/login "$TOKEN" $SHOTS/dashboard-last.png "" "${args[@]}" > $T/dom 2>$T/cdp.err ||
		fail "cdp_page: $(tail -3 $T/cdp.err)"
	# page_text URL: the rendered text of that page (tags out, entities decoded, spaces folded)
	page_text() {
		python3 - "$1" $T/dom <<-'EOF'
			import html, re, sys
			want, dom = sys.argv[1], open(sys.argv[2]).read()
			parts = re.split(r"<!-- cdp_page: (.*?) -->\n", dom)
			for url, body in zip(parts[1::2], parts[2::2]):
			    if url == want:
			        body = re.sub(r"<style>.*?</style>", " ", body, flags=re.S)
			        print(re.sub(r"\s+", " ", html.unescape(re.sub(r"<[^>]+>", " ", body))))
		EOF
	}
	has() { # URL TEXT...: each TEXT is in the page
		local t miss=""
		t=$(page_text "$1")
		shift
		for w in "$@"; do grep -qF -- "$w" <<<"$t" || miss="$miss [$w]"; done
		[ -z "$miss" ] || echo "missing:$miss in: ${t:0:400}"
	}
	expect_eq "Chromium: overview (vi): devices, online, firmware, policy versions" "$(has "$U/dashboard/" \
		'56 thiết bị đang hoạt động' '5 trực tuyến trong chu kỳ vừa qua (300 giây)' '0 đã thu hồi' \
		'khiend 1.2.0 3' 'khiend 1.1.0 1' '(chưa báo) 51' 'Phiên bản chính sách Thiết bị 0 51 7 3 6 2')" ""
	expect_eq "  and the rollout's progress as the CLI counts it" "$(has "$U/dashboard/" "home 1 đang chạy 50% $ro_devices $ro_applied 0 0")" ""
	expect_eq "Chromium: overview (en)" "$(has "$U/dashboard/?lang=en" 'Fleet overview' '56 active devices' \
		'5 online in the last interval (300 s)' 'home 1 active 50%')" ""
	expect_eq "Chromium: incidents (vi): categories by severity, top threats, top devices" "$(has "$U/dashboard/incidents" \
		'Sự kiện theo thời gian và mức độ' 'ads 0 0 0 60 60' 'malware 0 4 0 0 4' 'phishing 0 0 2 0 2' \
		'firmware_mismatch 1 0 0 0 1' 'evil-c2.example 2' 'phish.example 2' 'SN-D-01 63 SN-D-02 2 SN-D-03 2 SN-D-05 1')" ""
	expect_eq "Chromium: incidents (en)" "$(has "$U/dashboard/incidents?lang=en" 'Top threats' 'Top devices' 'ads 0 0 0 60 60')" ""
	# every event in the last 24 h is in one of the hourly rows, and in the 7-day ones
	for r in "" "?range=7d"; do
		sum=$(page_text "$U/dashboard/incidents$r" | python3 -c "import re,sys; print(sum(int(m) for m in re.findall(r'\dZ(?: \d+){4} (\d+)', sys.stdin.read())))")
		expect_eq "  the timeline ${r:-?range=24h} adds up to the 68 events" "$sum" "68"
	done
	expect_eq "  the hostile threat name shows as text" "$(has "$U/dashboard/incidents" '<img src=x onerror=alert(1)>.example 1')" ""
	expect_eq "Chromium: compliance (vi): per check, failing devices, integrity" "$(has "$U/dashboard/compliance" \
		'ntp-set thấp 0 0 4 0' 'ssh-root-login nghiêm trọng 2 2 0 0' 'telnet-off cao 3 1 0 0' \
		'SN-D-03 ssh-root-login nghiêm trọng không đạt' 'SN-D-04 telnet-off cao không đạt' 'file_changed 1' 'firmware_mismatch 1')" ""
	expect_eq "Chromium: compliance (en)" "$(has "$U/dashboard/compliance?lang=en" 'Devices failing critical or high checks' 'ssh-root-login critical 2 2 0 0')" ""
	expect_eq "Chromium: customers to warn (vi), as khien-server warnings says" "$(has "$U/dashboard/warnings" \
		'SN-D-01 c1aaaa0000000001 malware' 'SN-D-02 c2bbbb0000000002 phishing' 'SN-D-05 <b>c5</b> malware')" ""
	"$SRV" warnings --dir $S > $T/warn
	expect_eq "  the CLI lists the same three" "$(lines '(d["device"], d["count"])' < $T/warn | tr '\n' ' ')" "('SN-D-01', 3) ('SN-D-02', 2) ('SN-D-05', 1) "
	expect_eq "Chromium: customers to warn (en)" "$(has "$U/dashboard/warnings?lang=en" 'Customers to warn' 'Client (pseudonym)')" ""
	expect_eq "Chromium: devices (vi), first page" "$(has "$U/dashboard/devices" 'SN-D-01 home trực tuyến' 'SN-P-44 bulk hoạt động' 'Trang sau')" ""
	expect_eq "Chromium: events (en), newest first" "$(has "$U/dashboard/events?lang=en" '68 ' 'dns_blocked high category: malware' 'Older')" ""
	expect_eq "Chromium: a device page (vi): identity, health, events, the hostile firmware as text" "$(has "$U/dashboard/device/SN-D-05" \
		'Số sê-ri SN-D-05' 'Nhóm home' 'Firmware <b>fw</b><script>alert(1)</script>' 'Chính sách đang chạy 6' \
		'uptime_s 1234' 'blocked 1' 'name: <img src=x onerror=alert(1)>.example' 'Thu hồi thiết bị')" ""
	expect_eq "Chromium: a device page (en)" "$(has "$U/dashboard/device/SN-D-05?lang=en" 'Identity' 'Recent events' 'Pending commands' 'Revoke device')" ""
	expect_eq "  no element from a device's text in any rendered page" "$(grep -c '<script\|<img \|<b>fw\|<b>c5' $T/dom)" "0"
	expect_eq "Chromium: the device page with audit results (SN-D-04, before revoking)" "$(has "$U/dashboard/device/SN-D-04" \
		'baseline v1: 0 đạt, 2 không đạt, 1 không áp dụng, 0 lỗi' 'telnet-off không đạt cao')" ""
	expect_eq "Chromium: revoke, clicked, shows the device revoked" "$(has "click:form.revoke button" 'Trạng thái đã thu hồi')" ""
	expect_eq "  the store has it revoked" "$(dev_status SN-D-04)" "revoked"
	echo '{"firmware":"x","hardware_id":"y","policy":{"version":0}}' > $T/ci.json
	expect_eq "  and its next check-in is refused" "$(as_device $S $T/devs/SN-D-04 POST /v1/checkin --body $T/ci.json 2>/dev/null | head -1)" "403"
	n=$(ls $SHOTS/dashboard-*-vi.png $SHOTS/dashboard-*-en.png 2>/dev/null | wc -l)
	expect_eq "screenshots of every page in both languages" "$n" "16"
	# the browser's own login refuses a wrong token
	CDP_IGNORE_CERT_ERRORS=1 timeout 120 python3 "$(dirname "$0")/cdp_page.py" "$CHROME" $U/dashboard/login \
		"not-the-token-000000" $SHOTS/dashboard-login-refused.png > $T/dom2 2>$T/cdp2.err
	grep -q "Sai mã truy cập" $T/dom2 && ok "Chromium: a wrong token at the login form is refused" || fail "wrong token in Chromium: $(tail -2 $T/cdp2.err)"
fi

# ---- failed logins are rate-limited (5 in 30 s: 5 minutes)
for i in 1 2 3 4 5; do login "wrong-token-$i-0123456789" >/dev/null; done
expect_eq "after 5 failures even the right token waits (429)" "$(login "$TOKEN")" "429"
grep -qi '^Retry-After:' $T/hl && ok "  with Retry-After" || fail "no Retry-After"
expect_eq "  a session already open still works" "$($C -o /dev/null -w '%{http_code}' $U/dashboard/)" "200"
stop_server
grep -q "dashboard: 5 failed logins" $T/server.log && ok "the lock is logged" || fail "no lock in the log"
done_testing
