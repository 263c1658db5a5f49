#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# khiend configured by UCI as on OpenWrt (/etc/config/khien): real khiend,
# real dig, the scripted upstream on 127.0.0.1. The UCI file's settings
# take effect (listen, upstreams, index, per-category actions), its
# effective settings equal the JSON form's (--check-config --print), and
# bad files are refused with file:line and the UCI place.
. "$(dirname "$0")/lib.sh"
P=$KHIEN_BUILD/khien-policy
K=$KHIEN_BUILD/khiend
L=$FIX/lists
UP=$(rand_port); DNS=$((UP + 1))
D="dig +time=5 +tries=1 @127.0.0.1 -p $DNS"

"$P" compile -q -o "$T/idx" --list gambling=$L/gambling.txt --list adult=$L/adult.dnsmasq \
	--list ads=$L/ads.adblock >/dev/null 2>&1
chmod 644 "$T/idx"
mkdir -p "$T/config"
cat > "$T/config/khien" <<UCI
# Khiên, as the OpenWrt package installs it (values for this test)
package khien

config khien 'main'
	option enabled '1'
	option log_level 'info'

config dns 'dns'
	list listen '127.0.0.1:$DNS'
	list upstream "127.0.0.1:$UP"
	option index '$T/idx'
	option blocked_ttl 42
	option blockpage_ipv4 '198.18.0.80'

config category 'adult'
	option action 'blockpage'

config category 'ads'
	option action 'null'   # ads answer 0.0.0.0
UCI
cat > "$T/same.json" <<JSON
{"dns": {"listen": ["127.0.0.1:$DNS"], "upstreams": ["127.0.0.1:$UP"], "index": "$T/idx",
 "blocked_ttl": 42, "blockpage": {"ipv4": "198.18.0.80"},
 "categories": {"adult": {"action": "blockpage"}, "ads": {"action": "null"}}},
 "log_level": "info"}
JSON

# --- effective settings: UCI and JSON give the same, as JSON
"$K" --config "$T/config/khien" --check-config --print >"$T/uci.out" 2>"$T/err" &&
	"$K" --config "$T/same.json" --check-config --print >"$T/json.out" 2>>"$T/err" &&
	ok "--check-config --print with UCI and with JSON" || { fail "--check-config --print"; cat "$T/err"; }
cmp -s "$T/uci.out" "$T/json.out" && ok "UCI and JSON forms give the same effective settings" ||
	{ fail "same effective settings"; diff "$T/uci.out" "$T/json.out" | sed 's/^/#  /'; }
expect_eq "the print is JSON with the UCI values" \
	"$(py 'json.load(open("'$T/uci.out'"))["dns"]["categories"]["ads"]["action"]')" "null"
"$K" --uci "$T/config/khien" --check-config --print | cmp -s - "$T/uci.out" &&
	ok "--uci FILE reads the same" || fail "--uci FILE"
"$K" --uci "$T/same.json" --check-config >/dev/null 2>"$T/err"; rc=$?
expect_eq "--uci refuses a JSON file (exit 1)" "$rc" 1
grep -q "same.json:1: " "$T/err" && ok "... naming file:line" || { fail "--uci on JSON names the line"; cat "$T/err"; }

# --- the daemon serves with the UCI settings
start_upstream $UP 1 || exit 1
start_khiend --config "$T/config/khien" || { fail "khiend starts"; done_testing; }
ok "khiend starts with a UCI config"
out=$($D www.casino-example.com)
echo "$out" | grep -q "status: NXDOMAIN" && echo "$out" | grep -qE "^www.casino-example.com.\s+42\s+IN\s+SOA" &&
	ok "blocked name: NXDOMAIN with option blocked_ttl 42" || { fail "blocked with TTL 42"; echo "$out" | sed 's/^/#  /'; }
adult=$(grep -v '^#' $L/adult.dnsmasq | sed -n 's|^address=/\([^/]*\)/.*|\1|p' | head -1)
expect_eq "config category 'adult' option action blockpage" "$($D "$adult" +short)" "198.18.0.80"
ads=$(grep -o '^||[a-z0-9.-]*\^' $L/ads.adblock | head -1 | tr -d '|^')
expect_eq "config category 'ads' option action null" "$($D "$ads" +short)" "0.0.0.0"
ans=$($D example.org +short)
[[ "$ans" == 198.19.* ]] && ok "allowed name answered by list upstream ($ans)" || fail "allowed name ($ans)"
stop_khiend

# --- bad files: refused before anything starts, with file:line and the UCI place
bad() { # NAME EXPECTED TEXT
	printf '%b' "$3" >"$T/config/$1"
	"$K" -f --config "$T/config/$1" --state-dir "$T/st-bad" --control "$T/bad.sock" >"$T/bad.out" 2>&1; rc=$?
	if [ $rc -eq 1 ] && grep -qF "$2" "$T/bad.out"; then ok "refused: $2"; else
		fail "refused ($rc): $2"; sed 's/^/#  /' "$T/bad.out"; fi
}
bad khien "khien:3: khien.dns.upstream[1]: not an address" \
	"config dns 'dns'\n\tlist upstream 127.0.0.1:$UP\n\tlist upstream '10.0.0.300'\n"
bad khien "khien:2: unterminated quote" "config dns\n\toption index '/x\n"
bad khien "khien:5: khien.ads.action: expected nxdomain" \
	"config dns\n\tlist upstream 127.0.0.1\n\nconfig category ads\n\toption action 'block'\n"
bad khien "khien:1: khien.@dnsmasq[0]: unknown section type" "config dnsmasq\n"
bad other "other:2: other.main.lisen: unknown option" "config khien main\n\toption lisen 1\n"
done_testing
