#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# The ISP's windows beat the household's allow_names (docs/PROFILES.md "How
# a query is decided"): the ISP's signed profiles component gives the child
# profile a window that blocks everything all day; the household's own
# child profile allows school.example by name. Against real khiend, the
# household's allow must not lift the ISP's window, while it still lifts
# the household's own window.
. "$(dirname "$0")/lib.sh"
P=$KHIEN_BUILD/khien-policy
L=$FIX/lists
UP=$(rand_port); DNS=$((UP + 1))
dig_from() { dig +time=5 +tries=1 -b "$1" @127.0.0.1 -p $DNS "${@:2}"; }
status_from() { dig_from "$@" | grep -o 'status: [A-Z]*' | head -1; }
"$P" compile -q -o "$T/idx" --list malware=$L/malware.hosts --list adult=$L/adult.dnsmasq >/dev/null 2>&1 ||
	{ fail "compile the index"; done_testing; }
chmod 644 "$T/idx"
ALL='["mon","tue","wed","thu","fri","sat","sun"]'
cat >"$T/khiend.json" <<JSON
{
  "dns": {"listen": ["127.0.0.1:$DNS"], "upstreams": ["127.0.0.1:$UP"], "index": "$T/idx",
          "categories": {"adult": {"action": "allow"}}},
  "time_zone": "UTC0",
  "profiles": {
    "child": {"clients": ["127.0.0.2"], "allow_names": ["school.example"],
              "schedules": [{"days": $ALL, "from": "00:00", "to": "24:00", "block_all": true}]}
  },
  "user": "khien"
}
JSON
"$P" keygen -o "$T/k" >/dev/null && "$P" root init --key "$T/k.pub" --policy-key "$T/k.pub" --expires +30d \
	-o "$T/root.json" >/dev/null && "$P" root sign --key "$T/k.key" "$T/root.json" >/dev/null || fail "keys and root"
cat >"$T/isp-profiles.json" <<JSON
{"profiles": {"child": {"schedules": [{"days": $ALL, "from": "00:00", "to": "24:00", "block_all": true}]}}}
JSON
"$P" bundle --key "$T/k.key" --version 1 --expires +1d --component blocklist="$T/idx" \
	--component profiles="$T/isp-profiles.json" -o "$T/b1" >/dev/null || fail "bundle with profiles"
start_upstream $UP 1 || exit 1
start_khiend --config "$T/khiend.json" --trust-root "$T/root.json" || { fail "khiend starts"; done_testing; }
expect_eq "the household's allow_names lift its own all-day window" "$(status_from 127.0.0.2 school.example)" "status: NOERROR"
expect_eq "the household's own window blocks the rest" "$(status_from 127.0.0.2 news.example)" "status: NXDOMAIN"
expect_rc "a bundle with the ISP's windows applies" 0 ctl policy apply "$T/b1"
expect_eq "the ISP's all-day window: the household's allow_names do not lift it" \
	"$(status_from 127.0.0.2 school.example)" "status: NXDOMAIN"
expect_eq "check --client names the ISP's window" \
	"$(ctl --json check school.example --client 127.0.0.2 | py 'json.load(sys.stdin)["profile"]["reason"]')" "schedule_block_all_except"
expect_eq "a client without a profile is not touched by the windows" "$(status_from 127.0.0.3 news.example)" "status: NOERROR"
kill -0 $KPID && ok "khiend still running" || fail "khiend died"
stop_khiend
done_testing
