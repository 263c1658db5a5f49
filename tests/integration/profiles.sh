#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Home profiles against the real daemon: dig from several source addresses
# on 127.0.0.0/8 (dig -b). 127.0.0.2 is in the child profile by IP,
# 127.0.0.4 by MAC through a neighbour-table file, 127.0.0.3 has no profile.
# The child profile blocks the household category adult (action "allow":
# off for everyone else) and the bypass list, forces safe search (CNAME to
# the forced-safe name, then the upstream's address for it); a window that
# includes now blocks everything but its allow list, one that excludes now
# does not (windows placed around the real time in the configured zone;
# the child's window is the issue's shape but never includes now, since
# khiend runs on the real clock and the issue's 21:00-06:30 would block
# the safe-search checks on weekday evenings: test_profile covers that
# window on the fake clock);
# resolver.arpa is answered here; `khienctl check --client` explains; a bad
# profiles configuration exits 1 with the path.
. "$(dirname "$0")/lib.sh"
P=$KHIEN_BUILD/khien-policy
L=$FIX/lists
UP=$(rand_port); DNS=$((UP + 1))
dig_from() { dig +time=5 +tries=1 -b "$1" @127.0.0.1 -p $DNS "${@:2}"; }
status_from() { dig_from "$@" | grep -o 'status: [A-Z]*' | head -1; }

printf 'dns.bypass-example.net\ndoh.example-resolver.org\n' >"$T/bypass.txt"
"$P" compile -q -o "$T/idx" --list malware=$L/malware.hosts --list adult=$L/adult.dnsmasq \
	--list bypass="$T/bypass.txt" >/dev/null 2>&1 || { fail "compile the index"; done_testing; }
chmod 644 "$T/idx"
# the neighbour table: 127.0.0.4 is the child's phone by its MAC
cat >"$T/arp" <<EOF
IP address       HW type     Flags       HW address            Mask     Device
127.0.0.4        0x1         0x2         aa:bb:cc:dd:ee:ff     *        br-lan
127.0.0.9        0x1         0x0         00:00:00:00:00:00     *        br-lan
EOF
chmod 644 "$T/arp"

# windows around now in the configured zone (UTC+7): one that includes now, one that does not
now=$(( ( $(date -u +%s) / 60 + 7 * 60 ) % 1440 ))
hm() { printf '%02d:%02d' $(( ($1 + 1440) % 1440 / 60 )) $(( ($1 + 1440) % 60 )); }
IN_FROM=$(hm $((now - 60))); IN_TO=$(hm $((now + 60)))
OUT_FROM=$(hm $((now + 180))); OUT_TO=$(hm $((now + 240)))
ALL='["mon","tue","wed","thu","fri","sat","sun"]'

cat >"$T/khiend.json" <<JSON
{
  "dns": {
    "listen": ["127.0.0.1:$DNS"],
    "upstreams": ["127.0.0.1:$UP"],
    "index": "$T/idx",
    "neighbours": "$T/arp",
    "categories": {"adult": {"action": "allow"}}
  },
  "time_zone": "<+07>-7",
  "profiles": {
    "child": {"clients": ["aa:bb:cc:dd:ee:ff", "127.0.0.2", "198.18.6.0/24"],
              "block": ["adult", "bypass"], "safe_search": true,
              "allow_names": ["school.example"], "block_names": ["game.example"],
              "schedules": [{"days": ["mon", "tue", "wed", "thu", "fri"],
                             "from": "$OUT_FROM", "to": "$OUT_TO",
                             "block_all_except": ["school.example"]}]},
    "kid": {"clients": ["127.0.0.7"], "child": true},
    "night": {"clients": ["127.0.0.5"],
              "schedules": [{"days": $ALL, "from": "$IN_FROM", "to": "$IN_TO",
                             "block_all_except": ["school.example"]}]},
    "later": {"clients": ["127.0.0.6"],
              "schedules": [{"days": $ALL, "from": "$OUT_FROM", "to": "$OUT_TO",
                             "block_all_except": ["school.example"]}]}
  },
  "user": "khien"
}
JSON
start_upstream $UP 1 || exit 1
start_khiend --config "$T/khiend.json" --web-listen 127.0.0.1:$((UP + 2)) ||
	{ fail "khiend starts with profiles"; done_testing; }
ok "khiend starts with the issue's profiles shape"
echo "# now $(hm $now) local; in-window $IN_FROM-$IN_TO, out-of-window $OUT_FROM-$OUT_TO"

# --- the household category: blocked for the child only
expect_eq "adult: no profile, resolved" "$(dig_from 127.0.0.3 xxx-sample.net +short | grep -c '^198\.19\.')" "1"
out=$(dig_from 127.0.0.2 xxx-sample.net)
echo "$out" | grep -q "status: NXDOMAIN" && ok "adult: child profile (by IP) blocked" || fail "adult: child blocked"
echo "$out" | grep -q "EDE: 17 (Filtered): (khien: profile child: category adult)" &&
	ok "the block says which profile and why (EDE text)" || { fail "EDE text"; echo "$out" | grep EDE | sed 's/^/#  /'; }
expect_eq "adult: child profile by MAC (neighbour table) blocked" "$(status_from 127.0.0.4 xxx-sample.net)" "status: NXDOMAIN"
expect_eq "malware: blocked for everyone (the ISP's policy)" "$(status_from 127.0.0.3 malware-c2.example)" "status: NXDOMAIN"

# --- bypass list and names of its own
expect_eq "bypass: child blocked" "$(status_from 127.0.0.2 dns.bypass-example.net)" "status: NXDOMAIN"
expect_eq "bypass: blocked by default in any child profile" "$(status_from 127.0.0.7 doh.example-resolver.org)" "status: NXDOMAIN"
expect_eq "bypass: a child profile blocks adult only if it says so" "$(dig_from 127.0.0.7 xxx-sample.net +short | grep -c '^198\.19\.')" "1"
expect_eq "bypass: others resolve" "$(dig_from 127.0.0.3 dns.bypass-example.net +short | grep -c '^198\.19\.')" "1"
expect_eq "block_names: child blocked (subdomain too)" "$(status_from 127.0.0.2 www.game.example)" "status: NXDOMAIN"
expect_eq "block_names: others resolve" "$(dig_from 127.0.0.3 www.game.example +short | grep -c '^198\.19\.')" "1"

# --- safe search: CNAME to the forced-safe name, then the upstream's address for it
out=$(dig_from 127.0.0.2 www.google.com.vn)
echo "$out" | grep -qE '^www\.google\.com\.vn\.\s+[0-9]+\s+IN\s+CNAME\s+forcesafesearch\.google\.com\.' &&
	echo "$out" | grep -qE '^forcesafesearch\.google\.com\.\s+[0-9]+\s+IN\s+A\s+198\.19\.' &&
	ok "safe search: www.google.com.vn is a CNAME to forcesafesearch.google.com with its address" ||
	{ fail "safe search Google"; echo "$out" | sed 's/^/#  /'; }
expect_eq "safe search: YouTube" "$(dig_from 127.0.0.2 www.youtube.com +short | head -1)" "restrict.youtube.com."
expect_eq "safe search: Bing" "$(dig_from 127.0.0.2 www.bing.com +short | head -1)" "strict.bing.com."
expect_eq "safe search: DuckDuckGo" "$(dig_from 127.0.0.2 duckduckgo.com +short | head -1)" "safe.duckduckgo.com."
expect_eq "safe search: the question is the client's own (case kept)" \
	"$(dig_from 127.0.0.2 WWW.Google.COM | grep -A1 'QUESTION SECTION' | tail -1 | awk '{print $1}')" ";WWW.Google.COM."
out=$(dig_from 127.0.0.3 www.google.com.vn +short)
[[ "$out" == 198.19.* ]] && ok "safe search: not forced for a client without the profile" || fail "safe search others ($out)"

# --- schedules: a window that includes now, one that does not
expect_eq "window including now: everything else blocked" "$(status_from 127.0.0.5 news.example)" "status: NXDOMAIN"
expect_eq "window including now: its allow list resolves" "$(dig_from 127.0.0.5 www.school.example +short | grep -c '^198\.19\.')" "1"
expect_eq "window excluding now: resolves" "$(dig_from 127.0.0.6 news.example +short | grep -c '^198\.19\.')" "1"

# --- the status page lists the devices with their profile
WEB=$((UP + 2))
# the table is the logged-in owner's (docs/WEB.md): set the password at first use, then look
W() { python3 "$(dirname "$0")/web_form.py" $WEB "$T/cookie" "$@"; }
W login "Hồ-Sơ#2026x" >/dev/null
page=$(W get /)
if echo "$page" | grep -q "Hồ sơ"; then
	echo "$page" | tr -d '\n' | grep -qE '<td>127\.0\.0\.2</td>(<td>[^<]*</td>){3}<td>child</td>' &&
		echo "$page" | tr -d '\n' | grep -qE '<td>127\.0\.0\.4</td>(<td>[^<]*</td>){3}<td>child</td>' &&
		echo "$page" | tr -d '\n' | grep -qE '<td>127\.0\.0\.3</td>(<td>[^<]*</td>){3}<td>không có</td>' &&
		ok "status page: devices with their profile (by IP, by MAC, none)" ||
		{ fail "status page profile column"; echo "$page" | grep -o '<tr><td>127[^/]*' | sed 's/^/#  /'; }
else
	fail "status page has a profile column"
fi

# --- resolver.arpa (RFC 9462): answered here with no designated resolver
out=$(dig_from 127.0.0.3 _dns.resolver.arpa SVCB)
echo "$out" | grep -q "status: NOERROR" && echo "$out" | grep -q "ANSWER: 0" &&
	ok "_dns.resolver.arpa SVCB: NODATA (no encrypted resolver to discover)" || { fail "resolver.arpa"; echo "$out" | sed 's/^/#  /'; }
grep -q "resolver.arpa" "$T/up1.log" && fail "resolver.arpa was forwarded upstream" || ok "resolver.arpa is not forwarded upstream"

# --- khienctl check --client
expect_eq "check --client: the profile's block explained" "$(ctl check xxx-sample.net --client 127.0.0.2)" \
	"xxx-sample.net blocked for 127.0.0.2 by profile child: category adult"
expect_eq "check --client: the window explained" "$(ctl check news.example --client 127.0.0.5)" \
	"news.example blocked for 127.0.0.5 by profile night: schedule_block_all_except window $IN_FROM-$IN_TO"
ctl --json check www.game.example --client 127.0.0.2 >"$T/chk.json" 2>&1
expect_eq "check --client --json: profile and reason" \
	"$(json_get "$T/chk.json" '" ".join(d["profile"][k] for k in ("name", "reason", "rule"))')" \
	"child block_names game.example"
expect_eq "check --client without a profile" "$(ctl --json check xxx-sample.net --client 127.0.0.3 | py '(lambda d: "%s %s" % (d["verdict"], d["profile"]))(json.load(sys.stdin))')" "allowed None"
stop_khiend

# --- the ISP's signed profiles component: laid under the household's, never loosened by it
"$P" keygen -o "$T/k" >/dev/null && "$P" root init --key "$T/k.pub" --policy-key "$T/k.pub" --expires +30d \
	-o "$T/root.json" >/dev/null && "$P" root sign --key "$T/k.key" "$T/root.json" >/dev/null || fail "keys and root"
cat >"$T/isp-profiles.json" <<'JSON'
{"profiles": {"child": {"block_names": ["school.example"]},
              "isp-kids": {"clients": ["127.0.0.8"], "block": ["adult"]}}}
JSON
printf '{"profiles": {"child": {"clients": ["nonsense"]}}}' >"$T/isp-bad.json"
"$P" bundle --key "$T/k.key" --version 1 --expires +1d --component blocklist="$T/idx" \
	--component profiles="$T/isp-profiles.json" -o "$T/b1" >/dev/null || fail "bundle with profiles"
"$P" bundle --key "$T/k.key" --version 2 --expires +1d --component blocklist="$T/idx" \
	--component profiles="$T/isp-bad.json" -o "$T/b2" >/dev/null || fail "bundle with bad profiles"
start_khiend --config "$T/khiend.json" --trust-root "$T/root.json" || { fail "khiend starts with a trust root"; done_testing; }
expect_eq "before the ISP's profiles: school.example allowed for the child" \
	"$(dig_from 127.0.0.2 school.example +short | grep -c '^198\.19\.')" "1"
expect_rc "a bundle with a profiles component applies" 0 ctl policy apply "$T/b1"
expect_eq "the ISP's block_names beat the household's allow_names" "$(status_from 127.0.0.2 school.example)" "status: NXDOMAIN"
expect_eq "the household's own rules stay" "$(status_from 127.0.0.2 www.game.example)" "status: NXDOMAIN"
expect_eq "a profile the ISP defines, with its clients" "$(status_from 127.0.0.8 xxx-sample.net)" "status: NXDOMAIN"
expect_eq "check --client names the ISP's rule" \
	"$(ctl --json check school.example --client 127.0.0.2 | py 'json.load(sys.stdin)["profile"]["reason"]')" "isp_block_names"
expect_rc "a bundle whose profiles do not parse still applies (signature good)" 0 ctl policy apply "$T/b2"
grep -q "profiles of the policy refused: profiles.child.clients\[0\]: not a MAC" "$T/khiend.log" &&
	ok "the bad profiles component is refused with its path" || { fail "bad component logged"; tail -5 "$T/khiend.log" | sed 's/^/#  /'; }
expect_eq "the table in force stays after a refused component" "$(status_from 127.0.0.2 school.example)" "status: NXDOMAIN"
stop_khiend

# --- a bad profiles configuration exits 1 with the path
sed 's|"127.0.0.2", "198.18.6.0/24"|"127.0.0.2", "198.18.6.1/24"|' "$T/khiend.json" >"$T/bad.json"
out=$("$KHIEN_BUILD/khiend" --check-config --config "$T/bad.json" 2>&1); rc=$?
expect_eq "bad profiles config: exit 1" "$rc" "1"
echo "$out" | grep -q "profiles.child.clients\[2\]: not a MAC, IP or CIDR" && ok "bad profiles config names the path" ||
	{ fail "bad config path"; echo "# $out"; }
done_testing
