#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
#
# `make bench`, profiles part (issue 14): what home profiles cost a query.
# The same 100,000 blocked names (generated, category adult) through khiend
# twice with dnsperf on loopback, caches off: without profiles (adult
# blocked by the ISP's policy), and with 32 profiles holding 256 client
# entries (IPs, CIDRs, MACs with a neighbour file), 12 allow and 12 block
# names and 8 schedules each, adult a household category (action allow)
# and the measuring client (127.0.0.1) in a profile that blocks it: every
# query then takes the whole profile path (client, names, masks, windows). Target: blocked q/s with profiles
# within 10% of the figure without (the extra cost at most 10%).
# usage: tests/bench/profiles_bench.sh BUILD_DIR   (KHIEN_BENCH_SECONDS: length of each run)
set -euo pipefail
O=$(cd "${1:?usage: profiles_bench.sh BUILD_DIR}" && pwd)
top=$(cd "$(dirname "$0")/../.." && pwd)
W=$(mktemp -d /tmp/khien-profiles-bench.XXXXXX)
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; cat "$W/khiend.log" >&2 2>/dev/null; rm -rf "$W"; }
trap cleanup EXIT
say() { printf '[bench] %s\n' "$*" >&2; }
UP=15600; KH=15601
secs=${KHIEN_BENCH_SECONDS:-8}

python3 "$top/tests/bench/gen_domains.py" 100000 14 >"$W/list.txt"
"$O/khien-policy" compile -q -o "$W/idx" --list adult="$W/list.txt" >/dev/null 2>&1
awk '{print $1" A"}' "$W/list.txt" >"$W/q-blocked.txt"
"$O/tests/khien-testdns" --listen 127.0.0.1:$UP --id 9 2>/dev/null &
pids+=($!)

# 32 profiles, 256 client entries; 127.0.0.1 is a client of the last one
python3 - "$W" <<'PY'
import json, sys
w = sys.argv[1]
names = lambda p, k: ["%s%d-%d.example" % (k, p, i) for i in range(12)]
prof, arp = {}, ["IP address       HW type     Flags       HW address            Mask     Device"]
for p in range(32):
	clients = []
	for c in range(8):
		n = p * 8 + c
		if c < 3:
			clients.append("198.18.%d.%d" % (n // 250, n % 250 + 1))
		elif c < 6:
			clients.append("198.19.%d.0/24" % n)
		else:
			mac = "02:00:00:00:%02x:%02x" % (n // 256, n % 256)
			clients.append(mac)
			arp.append("198.18.200.%d 0x1 0x2 %s * br-lan" % (n % 250 + 1, mac))
	if p == 31:
		clients[0] = "127.0.0.1"
	prof["p%d" % p] = {"clients": clients, "block": ["adult", "bypass", "games"],
			   "allow_names": names(p, "allow"), "block_names": names(p, "block"),
			   "schedules": [{"days": ["mon", "wed", "fri"], "from": "%02d:00" % h,
					  "to": "%02d:30" % h, "block": ["games"]} for h in range(8)]}
open(w + "/profiles.json", "w").write(json.dumps(prof))
open(w + "/arp", "w").write("\n".join(arp) + "\n")
PY

run() { # TOP-EXTRA DNS-EXTRA -> blocked q/s
	cat >"$W/khiend.json" <<JS
{"dns": {${2:-}"listen": ["127.0.0.1:$KH"], "upstreams": ["127.0.0.1:$UP"], "index": "$W/idx",
 "cache": false, "rate_limit": 0, "neighbours": "$W/arp"}, "time_zone": "<+07>-7",
 "user": "", "log_level": "warn"$1}
JS
	"$O/khiend" -f --config "$W/khiend.json" --control "$W/ctl" --state-dir "$W/state" 2>"$W/khiend.log" &
	local pid=$!
	for _ in $(seq 100); do
		dig +time=1 +tries=1 @127.0.0.1 -p $KH ready.test >/dev/null 2>&1 && break
		sleep 0.05
	done
	dnsperf -s 127.0.0.1 -p $KH -d "$W/q-blocked.txt" -l "$secs" -c 4 -q 200 -t 2 2>/dev/null |
		awk '/Queries per second:/ {print $4}'
	kill $pid; wait $pid 2>/dev/null || true
}
say "profiles: blocked names without profiles..."
base=$(run "")
say "profiles: the same with 32 profiles, 256 clients..."
with=$(run ", \"profiles\": $(cat "$W/profiles.json")" '"categories": {"adult": {"action": "allow"}}, ')
python3 - "$base" "$with" <<'PY'
import sys
b, w = float(sys.argv[1] or 0), float(sys.argv[2] or 0)
cost = 100.0 * (b - w) / b if b else 100.0
print("| dnsperf, blocked names, caches off | q/s |")
print("|---|---|")
print("| no profiles | %.0f |" % b)
print("| 32 profiles, 256 clients, client in one | %.0f |" % w)
print("| extra cost per query (target <= 10%%) | %.1f%% %s |" % (cost, "ok" if cost <= 10 else "OVER"))
PY
