#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# The owner edits profiles on the status page (docs/WEB.md "Profiles"),
# against the real daemon: logged in, the owner puts a client (by IP, and
# by MAC when the neighbour table knows it) in the child profile from the
# device table, and dig from that address shows the child's blocking; safe
# search toggled on the profiles page changes the answer (CNAME to the
# forced-safe name); a POST without the CSRF token or from another Origin
# changes nothing; allow_names never lifts what the ISP blocks (its
# categories, its signed profiles component); the settings
# (STATE/spool/profiles.local) survive a restart; a damaged file is
# refused with a logged path error and khiend starts on the configured
# profiles.
. "$(dirname "$0")/lib.sh"
P=$KHIEN_BUILD/khien-policy
L=$FIX/lists
UP=$(rand_port); DNS=$((UP + 1)); WEB=$((UP + 2))
PW="Hồ-Sơ#2026x"
W() { python3 "$(dirname "$0")/web_form.py" $WEB "$T/cookie" "$@"; }
dig_from() { dig +time=5 +tries=1 -b "$1" @127.0.0.1 -p $DNS "${@:2}"; }
status_from() { dig_from "$@" | grep -o 'status: [A-Z]*' | head -1; }
resolves() { dig_from "$@" +short | grep -c '^198\.19\.'; }
LOCAL=$T/state/spool/profiles.local

"$P" compile -q -o "$T/idx" --list malware=$L/malware.hosts --list adult=$L/adult.dnsmasq >/dev/null 2>&1 ||
	{ fail "compile the index"; done_testing; }
chmod 644 "$T/idx"
cat >"$T/arp" <<EOF2
IP address       HW type     Flags       HW address            Mask     Device
127.0.0.4        0x1         0x2         aa:bb:cc:dd:ee:04     *        br-lan
EOF2
chmod 644 "$T/arp"
cat >"$T/khiend.json" <<JSON
{
  "dns": {"listen": ["127.0.0.1:$DNS"], "upstreams": ["127.0.0.1:$UP"], "index": "$T/idx",
          "neighbours": "$T/arp", "categories": {"adult": {"action": "allow"}}},
  "profiles": {
    "child": {"clients": ["127.0.0.2"], "block": ["adult"]},
    "guest": {"clients": ["127.0.0.9"], "block_names": [$(seq -f '"n%g.example"' -s, 20)]}
  },
  "user": "khien"
}
JSON
"$P" keygen -o "$T/k" >/dev/null && "$P" root init --key "$T/k.pub" --policy-key "$T/k.pub" --expires +30d \
	-o "$T/root.json" >/dev/null && "$P" root sign --key "$T/k.key" "$T/root.json" >/dev/null || fail "keys and root"
echo '{"profiles": {"child": {"block_names": ["isp-banned.example"]},
              "isp-kids": {"clients": ["127.0.0.8"], "block": ["adult"]}}}' >"$T/isp-profiles.json"
"$P" bundle --key "$T/k.key" --version 1 --expires +1d --component blocklist="$T/idx" \
	--component profiles="$T/isp-profiles.json" -o "$T/b1" >/dev/null || fail "bundle with profiles"

start_upstream $UP 1 || exit 1
start_khiend --config "$T/khiend.json" --trust-root "$T/root.json" --web-listen 127.0.0.1:$WEB ||
	{ fail "khiend starts"; done_testing; }
expect_rc "the ISP's bundle with a profiles component applies" 0 ctl policy apply "$T/b1"
expect_eq "login as the owner" "$(W login "$PW")" "303"

# --- the device table: a select per row, the client moved into the child profile
expect_eq "before: 127.0.0.3 has no profile, adult resolves" "$(resolves 127.0.0.3 xxx-sample.net)" "1"
page=$(W get /)
echo "$page" | grep -qF '<select name="profile"><option value="">không có</option><option value="child"' &&
	ok "the device table offers the profiles (Vietnamese)" || { fail "device select"; echo "$page" | grep -o '<select.*</select>' | head -2 | sed 's/^/#  /'; }
out=$(W post /device ip=127.0.0.3 name=tablet profile=child was=)
expect_eq "POST /device with a profile: 303 to /" "$(echo "$out" | head -1)" "303 /"
out=$(dig_from 127.0.0.3 xxx-sample.net)
echo "$out" | grep -q "status: NXDOMAIN" && echo "$out" | grep -q "profile child: category adult" &&
	ok "at once: dig from 127.0.0.3 is blocked by the child profile" || { fail "assigned client blocked"; echo "$out" | grep -E 'status|EDE' | sed 's/^/#  /'; }
expect_eq "the page shows the device in the child profile" \
	"$(W get / | tr -d '\n' | grep -c '<td>127\.0\.0\.3</td>.\{0,200\}<td>child</td>')" "1"
out=$(W post /device ip=127.0.0.4 name= profile=child was=)
expect_eq "a device the neighbour table knows is kept by its MAC" \
	"$(json_get "$LOCAL" 'd["clients"].get("aa:bb:cc:dd:ee:04")')" "child"
expect_eq "... and is blocked as the child" "$(status_from 127.0.0.4 xxx-sample.net)" "status: NXDOMAIN"
W post /device ip=127.0.0.2 name= profile= was=child >/dev/null
expect_eq "a configured client taken out of its profile (none)" "$(resolves 127.0.0.2 xxx-sample.net)" "1"

# --- the profiles page: safe search, categories, names
page=$(W get /profiles)
echo "$page" | grep -qF "Hồ sơ thiết bị" && echo "$page" | grep -qF 'name="safe_search"' &&
	echo "$page" | grep -qF 'name="cat_adult" value="1" checked' && echo "$page" | grep -qF 'name="cat_bypass"' &&
	echo "$page" | grep -qF "Nhà mạng chặn (không thể bỏ): isp-banned.example" &&
	ok "the profiles page: the form, the household categories, the ISP's part as fixed" ||
	{ fail "profiles page"; echo "$page" | head -40 | sed 's/^/#  /'; }
expect_eq "without a session /profiles is refused" "$(python3 "$(dirname "$0")/web_form.py" $WEB "$T/none" get /profiles | head -1)" "403"
expect_eq "before: no safe search for the child" "$(dig_from 127.0.0.3 www.bing.com +short | grep -c strict.bing.com)" "0"
out=$(W post /profile profile=child safe_search=1 cat_adult=1 block_names=game.example)
expect_eq "POST /profile: 303 to /profiles" "$(echo "$out" | head -1)" "303 /profiles"
expect_eq "safe search on: the CNAME to strict.bing.com" "$(dig_from 127.0.0.3 www.bing.com +short | head -1)" "strict.bing.com."
expect_eq "the owner's block_names apply" "$(status_from 127.0.0.3 www.game.example)" "status: NXDOMAIN"
W get /profiles | grep -qF "Cài đặt của chủ thiết bị" && ok "the page says the profile has owner's settings" || fail "owner layer shown"
W post /profile profile=child cat_adult=1 block_names=game.example >/dev/null
expect_eq "safe search off again: no CNAME" "$(dig_from 127.0.0.3 www.bing.com +short | grep -c strict.bing.com)" "0"
expect_eq "adult still blocked" "$(status_from 127.0.0.3 xxx-sample.net)" "status: NXDOMAIN"

# --- a configured list longer than the form takes: shown as a count, kept when the form is saved
W get /profiles | grep -qF "20 tên: quá nhiều để sửa ở đây" && ok "a 20-name configured list is not put in a box" ||
	fail "long list shown as a count"
expect_eq "guest: a configured block name" "$(status_from 127.0.0.9 n17.example)" "status: NXDOMAIN"
expect_eq "POST /profile for guest without its block_names box" "$(W post /profile profile=guest safe_search=1 | head -1)" "303 /profiles"
expect_eq "guest: the configured block names stay" "$(status_from 127.0.0.9 n17.example)" "status: NXDOMAIN"
expect_eq "guest: safe search now on" "$(dig_from 127.0.0.9 www.bing.com +short | head -1)" "strict.bing.com."

# --- attacks: no CSRF token, another Origin, a bad name, an unknown profile: nothing changes
sum=$(md5sum <"$LOCAL")
expect_eq "POST /profile without the CSRF token: 403" "$(W post /profile --no-csrf profile=child safe_search=1 | head -1)" "403 "
expect_eq "POST /profile from another Origin: 403" \
	"$(W post /profile --origin http://evil.example profile=child safe_search=1 | head -1)" "403 "
expect_eq "POST /device without the CSRF token: 403" "$(W post /device --no-csrf ip=127.0.0.5 profile=child was= | head -1)" "403 "
expect_eq "POST /device from another Origin: 403" \
	"$(W post /device --origin http://evil.example ip=127.0.0.5 profile=child was= | head -1)" "403 "
expect_eq "a bad name in allow_names: 400" "$(W post /profile profile=child allow_names='bad..name' | head -1)" "400 "
expect_eq "17 names in one box: 400" "$(W post /profile profile=child block_names="$(seq -f 'n%g.example' 17 | tr '\n' ' ')" | head -1)" "400 "
expect_eq "an unknown profile: 400" "$(W post /device ip=127.0.0.5 profile=nosuch was= | head -1)" "400 "
expect_eq "the refused POSTs changed nothing (profiles.local)" "$(md5sum <"$LOCAL")" "$sum"
expect_eq "... nor the answers" "$(dig_from 127.0.0.3 www.bing.com +short | grep -c strict.bing.com)" "0"
expect_eq "... nor 127.0.0.5" "$(resolves 127.0.0.5 xxx-sample.net)" "1"

# --- never loosening the ISP: its categories, its signed profiles component
W post /profile profile=child cat_adult=1 allow_names="malware-c2.example isp-banned.example" >/dev/null
expect_eq "allow_names kept" "$(json_get "$LOCAL" '" ".join(d["profiles"]["child"]["allow_names"])')" \
	"malware-c2.example isp-banned.example"
expect_eq "an ISP category stays blocked despite allow_names" "$(status_from 127.0.0.3 malware-c2.example)" "status: NXDOMAIN"
expect_eq "the ISP's block_names for the profile stay blocked" "$(status_from 127.0.0.3 isp-banned.example)" "status: NXDOMAIN"
expect_eq "check --client names the ISP's rule" \
	"$(ctl --json check isp-banned.example --client 127.0.0.3 | py 'json.load(sys.stdin)["profile"]["reason"]')" "isp_block_names"

# --- a real browser renders the profiles page (Vietnamese), logged in through the form
CHROME=$(command -v chromium || command -v chromium-browser || true)
if [ -z "$CHROME" ]; then
	skip "headless Chromium renders the profiles page" "chromium not installed (scripts/deps.sh test)"
else
	SHOTS=$KHIEN_BUILD/screenshots
	mkdir -p "$SHOTS"
	rm -f "$SHOTS/profiles-vi.png"
	dom=$(timeout 240 python3 "$(dirname "$0")/cdp_page.py" "$CHROME" "http://khien.lan/" "$PW" \
		"$SHOTS/profiles-vi.png" "MAP khien.lan 127.0.0.1:$WEB" "http://khien.lan/profiles")
	echo "$dom" | grep -qF "Hồ sơ thiết bị" && echo "$dom" | grep -qF "Tìm kiếm an toàn" &&
		echo "$dom" | grep -qF "Nội dung người lớn" && echo "$dom" | grep -qF "Cài đặt của chủ thiết bị" &&
		echo "$dom" | grep -qF 'name="allow_names"' &&
		ok "Chromium renders the profiles page in Vietnamese (the owner's form)" ||
		{ fail "Chromium profiles page"; echo "$dom" | head -5 | sed 's/^/#  /'; }
	[ -s "$SHOTS/profiles-vi.png" ] && [ "$(stat -c %s "$SHOTS/profiles-vi.png")" -gt 2048 ] &&
		ok "screenshot $SHOTS/profiles-vi.png" || fail "profiles screenshot"
fi

# --- a device the ISP's signed profiles place cannot be moved out by the owner
expect_eq "the ISP's device is in its profile" "$(status_from 127.0.0.8 xxx-sample.net)" "status: NXDOMAIN"
W get / | grep -qF '<option value="isp-kids" selected>isp-kids (nhà mạng)</option>' &&
	ok "the device table shows the ISP's profile as such" || fail "the ISP's profile in the select"
expect_eq "moving the ISP's device to guest: 403" "$(W post /device ip=127.0.0.8 name= profile=guest was=isp-kids | head -1)" "403 "
expect_eq "moving the ISP's device to none: 403" "$(W post /device ip=127.0.0.8 name= profile= was=isp-kids | head -1)" "403 "
expect_eq "... it stays blocked by the ISP's profile" "$(status_from 127.0.0.8 xxx-sample.net)" "status: NXDOMAIN"
expect_eq "... and profiles.local does not name it" "$(json_get "$LOCAL" '"127.0.0.8" in d["clients"]')" "False"

# --- a restart keeps the owner's settings
stop_khiend
start_khiend --config "$T/khiend.json" --trust-root "$T/root.json" --web-listen 127.0.0.1:$WEB ||
	{ fail "khiend restarts"; done_testing; }
grep -q "profiles.local: the owner's profile settings applied" "$T/khiend.log" && ok "restart: the settings are read back" || fail "restart log"
expect_eq "restart: 127.0.0.3 still the child's" "$(status_from 127.0.0.3 xxx-sample.net)" "status: NXDOMAIN"
expect_eq "restart: 127.0.0.2 still out of it" "$(resolves 127.0.0.2 xxx-sample.net)" "1"
expect_eq "restart: the ISP's block_names still win" "$(status_from 127.0.0.3 isp-banned.example)" "status: NXDOMAIN"
stop_khiend

# --- a damaged file: refused with its path, khiend starts on the configured profiles
printf '{"profiles": {"child": {"allow_names": ["bad..name"]}}}' >"$LOCAL"
start_khiend --config "$T/khiend.json" --trust-root "$T/root.json" --web-listen 127.0.0.1:$WEB ||
	{ fail "khiend starts with a bad profiles.local"; done_testing; }
grep -q "spool/profiles.local: profiles.child.allow_names\[0\]: not a domain name: the configured profiles stay" "$T/khiend.log" &&
	ok "a bad profiles.local is refused with its path" || { fail "bad file logged"; tail -5 "$T/khiend.log" | sed 's/^/#  /'; }
expect_eq "the configured profiles stay: 127.0.0.2 is the child's" "$(status_from 127.0.0.2 xxx-sample.net)" "status: NXDOMAIN"
expect_eq "... and 127.0.0.3 has none" "$(resolves 127.0.0.3 xxx-sample.net)" "1"
stop_khiend
printf "\377\376{not json" >"$LOCAL"
start_khiend --config "$T/khiend.json" --web-listen 127.0.0.1:$WEB || { fail "khiend starts with a garbage profiles.local"; done_testing; }
grep -q "profiles.local: not JSON: the configured profiles stay" "$T/khiend.log" && ok "garbage in profiles.local is refused" ||
	{ fail "garbage logged"; tail -5 "$T/khiend.log" | sed 's/^/#  /'; }
kill -0 $KPID && ok "khiend still running" || fail "khiend died"
stop_khiend

# --- 32 profiles: the pages stay within their 16 KiB (the profiles page in parts)
python3 - "$T/khiend.json" "$T/many.json" <<'PY'
import json, sys
c = json.load(open(sys.argv[1]))
c["profiles"] = {"profile-%02d" % i: {"clients": ["127.0.1.%d" % i], "block": ["adult"],
		 "allow_names": ["a%d.example" % i, "b%d.example" % i], "block_names": ["c%d.example" % i]}
		 for i in range(32)}
json.dump(c, open(sys.argv[2], "w"))
PY
start_khiend --config "$T/many.json" --web-listen 127.0.0.1:$WEB || { fail "khiend starts with 32 profiles"; done_testing; }
for i in $(seq 1 20); do dig_from 127.0.1.$i x$i.example +short >/dev/null; done
W login "$PW" >/dev/null
expect_eq "status page with 20 devices and 32 profiles: 200" "$(W get / | head -1)" "200"
page=$(W get /profiles)
expect_eq "profiles page 1: 200" "$(echo "$page" | head -1)" "200"
next=$(echo "$page" | grep -o 'href="/profiles?from=[0-9]*"' | head -1 | tr -cd '0-9')
[ -n "$next" ] && ok "profiles page 1 links to the rest (from=$next)" || fail "no link to more profiles"
seen=$(echo "$page" | grep -o '<h2>profile-[0-9]*</h2>' | wc -l)
while [ -n "$next" ]; do
	page=$(W get "/profiles?from=$next")
	[ "$(echo "$page" | head -1)" = 200 ] || { fail "profiles page from=$next"; break; }
	seen=$((seen + $(echo "$page" | grep -o '<h2>profile-[0-9]*</h2>' | wc -l)))
	next=$(echo "$page" | grep -o 'href="/profiles?from=[0-9]*"' | head -1 | tr -cd '0-9')
done
expect_eq "all 32 profiles shown across the parts" "$seen" "32"
stop_khiend
! grep -qE "AddressSanitizer|LeakSanitizer|runtime error" "$T/khiend.log" && ok "no sanitizer finding in khiend's log" ||
	{ fail "sanitizer finding"; grep -E -A5 "Sanitizer|runtime error" "$T/khiend.log" | head -20 | sed 's/^/#  /'; }
done_testing
