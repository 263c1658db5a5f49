#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
#
# `make bench`: benchmarks, never part of pass/fail. Builds a 1M-domain list
# (the real lists of ../shared/data when present, plus seeded generated
# names), then measures in one run: khien-policy compile (time, peak RSS),
# index size, open time and mean lookup time; and the peers dnsmasq and
# unbound loading the same list (time until they answer, RSS).
# Results: stdout and BUILD/bench/results.json. Record them in
# docs/PERFORMANCE.md with the machine.
# usage: tests/bench/run.sh BUILD_DIR [COUNT]
set -euo pipefail
O=$(cd "${1:?usage: run.sh BUILD_DIR [COUNT]}" && pwd)
N=${2:-1000000}
top=$(cd "$(dirname "$0")/../.." && pwd)
shared=""
[ -d "$top/../shared/data" ] && shared=$(cd "$top/../shared/data" && pwd)
W=$(mktemp -d /tmp/khien-bench.XXXXXX)
chmod 755 "$W"
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; rm -rf "$W"; }
trap cleanup EXIT
mkdir -p "$O/bench"
say() { printf '[bench] %s\n' "$*" >&2; }

say "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs), $(free -g | awk '/Mem/{print $2}') GiB"
say "preparing $N domains (${shared:+real lists + }generated) and 100k queries..."
"$top/tests/bench/prepare.py" "$W" "$N" "$shared"
chmod 644 "$W"/*
info=$(cat "$W/info.json")
say "inputs: $info"

say "khien-policy compile..."
/usr/bin/time -f '%e %M' -o "$W/time" "$O/khien-policy" compile -q --json -o "$W/bench.idx" \
	--list bench="$W/list.txt" > "$W/compile.json"
read -r ctime crss < "$W/time"
say "compile: ${ctime}s, peak RSS ${crss} KB"
say "open and lookup..."
/usr/bin/time -f '%M' -o "$W/time2" "$O/bench/bench_index" "$W/bench.idx" "$W/queries.txt" \
	--lookups 5000000 > "$W/index.json"
say "index: $(cat "$W/index.json")"

# wait_answer PORT NAME: seconds until the server answers NXDOMAIN for NAME
wait_answer() {
	local start=$(date +%s.%N) i
	for i in $(seq 1 1200); do
		if dig +time=1 +tries=1 @127.0.0.1 -p "$1" "$2" 2>/dev/null | grep -q 'status: NXDOMAIN'; then
			echo "$(date +%s.%N) - $start" | bc
			return 0
		fi
		sleep 0.1
	done
	return 1
}
rss_kb() { awk '/VmRSS/{print $2}' "/proc/$1/status"; }
probe=$(head -1 "$W/list.txt")

say "dnsmasq loading $N address=/name/ lines..."
dnsmasq --version | head -1 >&2
start=$(date +%s.%N)
dnsmasq --keep-in-foreground --no-resolv --no-hosts --port 15353 --listen-address=127.0.0.1 \
	--bind-interfaces --conf-file="$W/dnsmasq.conf" --cache-size=0 --pid-file= \
	--user=root 2>"$W/dnsmasq.log" &
pids+=($!)
dm_pid=$!
dm_load=$(wait_answer 15353 "$probe" || echo nan)
dm_rss=$(rss_kb "$dm_pid")
say "dnsmasq: answering after ${dm_load}s, RSS ${dm_rss} KB"
kill "$dm_pid"; wait "$dm_pid" 2>/dev/null || true

say "unbound loading $N local-zone lines..."
cat > "$W/unbound.conf" <<UB
server:
	interface: 127.0.0.1
	port: 15354
	do-daemonize: no
	chroot: ""
	username: ""
	pidfile: ""
	use-syslog: no
	num-threads: 1
	do-ip6: no
	msg-cache-size: 1m
	rrset-cache-size: 1m
	include: "$W/unbound-zones.conf"
remote-control:
	control-enable: no
UB
unbound -V | head -1 >&2
unbound -d -c "$W/unbound.conf" 2>"$W/unbound.log" &
pids+=($!)
ub_pid=$!
ub_load=$(wait_answer 15354 "$probe" || echo nan)
ub_rss=$(rss_kb "$ub_pid")
say "unbound: answering after ${ub_load}s, RSS ${ub_rss} KB"
kill "$ub_pid"; wait "$ub_pid" 2>/dev/null || true

/usr/bin/python3 - "$W" "$ctime" "$crss" "$dm_load" "$dm_rss" "$ub_load" "$ub_rss" \
	"$O/bench/results.json" <<'PY'
import json, sys
w, ctime, crss, dml, dmr, ubl, ubr, out = sys.argv[1:]
info = json.load(open(w + "/info.json"))
comp = json.load(open(w + "/compile.json"))
idx = json.load(open(w + "/index.json"))
n = comp["domains"]
res = {"inputs": info, "khien": {"compile_s": float(ctime), "compile_peak_rss_mb": int(crss) / 1024,
       "index_bytes": comp["bytes"], "bytes_per_domain": comp["bytes_per_domain"],
       "false_positive_log2": comp["false_positive_log2"], "open_ms_median": idx["open_ms_median"],
       "lookup_ns_mean": idx["lookup_ns_mean"], "blocked_fraction": idx["blocked_fraction"]},
       "dnsmasq": {"load_s": float(dml), "rss_mb": int(dmr) / 1024, "bytes_per_domain": int(dmr) * 1024 / n},
       "unbound": {"load_s": float(ubl), "rss_mb": int(ubr) / 1024, "bytes_per_domain": int(ubr) * 1024 / n}}
json.dump(res, open(out, "w"), indent=1)
k, d, u = res["khien"], res["dnsmasq"], res["unbound"]
print("| %d domains (%d real + %d generated) | khien | dnsmasq | unbound |" % (n, info["real"], info["generated"]))
print("|---|---|---|---|")
print("| memory for the list | %.1f MB index (%.2f B/domain) | %.1f MB RSS (%.0f B/domain) | %.1f MB RSS (%.0f B/domain) |" %
      (k["index_bytes"] / 1e6, k["bytes_per_domain"], d["rss_mb"], d["bytes_per_domain"], u["rss_mb"], u["bytes_per_domain"]))
print("| build / load time | compile %.2f s (peak RSS %.0f MB) + open %.2f ms | %.1f s to first answer | %.1f s to first answer |" %
      (k["compile_s"], k["compile_peak_rss_mb"], k["open_ms_median"], d["load_s"], u["load_s"]))
print("| mean lookup (%.0f%% blocked, 2-6 labels) | %.0f ns | - | - |" % (100 * k["blocked_fraction"], k["lookup_ns_mean"]))
print("| false-positive bound | 2^%.1f per lookup | exact | exact |" % k["false_positive_log2"])
PY
