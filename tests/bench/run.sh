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


# ---------------------------------------------------------------- DNS throughput
# The same 1M list in each server, the same local upstream (khien-testdns),
# caches off everywhere, dnsperf on loopback. Blocked and forwarded names are
# measured separately; a do-nothing run against the responder is the ceiling.
UP=15400; KH=15401; DM=15402; UB=15403
secs=${KHIEN_BENCH_SECONDS:-8}
head -100000 "$W/list.txt" | awk '{print $1" A"}' > "$W/q-blocked.txt"
for i in $(seq 1 50000); do echo "fwd$i.allowed-bench.test A"; done > "$W/q-fwd.txt"
perf_run() { # PORT FILE -> "qps lost"
	dnsperf -s 127.0.0.1 -p "$1" -d "$2" -l "$secs" -c 4 -q 200 -t 2 2>/dev/null |
		awk '/Queries lost:/ {lost=$3} /Queries per second:/ {qps=$4} END {print qps, lost}'
}
"$O/tests/khien-testdns" --listen 127.0.0.1:$UP --id 9 2>/dev/null &
pids+=($!)
sleep 0.3
say "do-nothing responder (ceiling)..."
read -r base_qps base_lost <<< "$(perf_run $UP "$W/q-fwd.txt")"
say "responder: $base_qps q/s"

cat > "$W/khiend.json" <<JS
{"dns": {"listen": ["127.0.0.1:$KH"], "upstreams": ["127.0.0.1:$UP"], "index": "$W/bench.idx",
 "cache": false}, "user": "", "log_level": "warn"}
JS
"$O/khiend" -f --config "$W/khiend.json" --control "$W/khiend.sock" --state-dir "$W/state" 2>"$W/khiend.log" &
pids+=($!)
kh_pid=$!
wait_answer $KH "$probe" >/dev/null
kh_rss=$(rss_kb $kh_pid)
say "khiend: RSS ${kh_rss} KB with the 1M index"
read -r kh_blk kh_blk_lost <<< "$(perf_run $KH "$W/q-blocked.txt")"
read -r kh_fwd kh_fwd_lost <<< "$(perf_run $KH "$W/q-fwd.txt")"
kh_rss_after=$(rss_kb $kh_pid)
say "khiend: blocked $kh_blk q/s (lost $kh_blk_lost), forwarded $kh_fwd q/s (lost $kh_fwd_lost), RSS after ${kh_rss_after} KB"
say "khiend: 10 index swaps under full load..."
( sleep 1; for i in $(seq 10); do "$O/khienctl" --control "$W/khiend.sock" reload >/dev/null || echo "reload $i failed" >&2; sleep 0.5; done ) &
cat "$W/q-blocked.txt" "$W/q-fwd.txt" | shuf --random-source=/dev/zero > "$W/q-mix.txt"
read -r sw_qps sw_lost <<< "$(KHIEN_BENCH_SECONDS=8 secs=8 perf_run $KH "$W/q-mix.txt")"
wait $! 2>/dev/null || true
sw_reloads=$("$O/khienctl" --control "$W/khiend.sock" status | python3 -c 'import json,sys; print(json.load(sys.stdin)["dns"]["index"]["reloads"])')
say "khiend under swaps: $sw_qps q/s, lost $sw_lost, reloads $sw_reloads"
kill $kh_pid; wait $kh_pid 2>/dev/null || true

cat > "$W/dnsmasq-fwd.conf" <<DM
server=127.0.0.1#$UP
conf-file=$W/dnsmasq.conf
DM
dnsmasq --keep-in-foreground --no-resolv --no-hosts --port $DM --listen-address=127.0.0.1 \
	--bind-interfaces --conf-file="$W/dnsmasq-fwd.conf" --cache-size=0 --pid-file= --user=root \
	--dns-forward-max=1000 2>"$W/dnsmasq2.log" &
pids+=($!)
dm_pid=$!
wait_answer $DM "$probe" >/dev/null
read -r dm_blk dm_blk_lost <<< "$(perf_run $DM "$W/q-blocked.txt")"
read -r dm_fwd dm_fwd_lost <<< "$(perf_run $DM "$W/q-fwd.txt")"
say "dnsmasq: blocked $dm_blk q/s (lost $dm_blk_lost), forwarded $dm_fwd q/s (lost $dm_fwd_lost)"
kill $dm_pid; wait $dm_pid 2>/dev/null || true

cat > "$W/unbound2.conf" <<UB2
server:
	interface: 127.0.0.1
	port: $UB
	do-daemonize: no
	chroot: ""
	username: ""
	pidfile: ""
	use-syslog: no
	num-threads: 1
	do-ip6: no
	cache-max-ttl: 0
	cache-max-negative-ttl: 0
	msg-cache-size: 1m
	rrset-cache-size: 1m
	do-not-query-localhost: no
	access-control: 127.0.0.0/8 allow
	num-queries-per-thread: 1024
	include: "$W/unbound-zones.conf"
	local-zone: "test." transparent
forward-zone:
	name: "."
	forward-addr: 127.0.0.1@$UP
remote-control:
	control-enable: no
UB2
unbound -d -c "$W/unbound2.conf" 2>"$W/unbound2.log" &
pids+=($!)
ub_pid=$!
wait_answer $UB "$probe" >/dev/null
read -r ub_blk ub_blk_lost <<< "$(perf_run $UB "$W/q-blocked.txt")"
read -r ub_fwd ub_fwd_lost <<< "$(perf_run $UB "$W/q-fwd.txt")"
say "unbound: blocked $ub_blk q/s (lost $ub_blk_lost), forwarded $ub_fwd q/s (lost $ub_fwd_lost)"
kill $ub_pid; wait $ub_pid 2>/dev/null || true
cat > "$W/dns.json" <<JS
{"seconds": $secs, "responder_qps": ${base_qps:-0},
 "khiend": {"blocked_qps": ${kh_blk:-0}, "blocked_lost": ${kh_blk_lost:-0}, "forwarded_qps": ${kh_fwd:-0}, "forwarded_lost": ${kh_fwd_lost:-0}, "rss_kb": ${kh_rss:-0}, "rss_kb_after": ${kh_rss_after:-0}, "swap_qps": ${sw_qps:-0}, "swap_lost": ${sw_lost:-0}, "swap_reloads": ${sw_reloads:-0}},
 "dnsmasq": {"blocked_qps": ${dm_blk:-0}, "forwarded_qps": ${dm_fwd:-0}, "forwarded_lost": ${dm_fwd_lost:-0}},
 "unbound": {"blocked_qps": ${ub_blk:-0}, "forwarded_qps": ${ub_fwd:-0}, "forwarded_lost": ${ub_fwd_lost:-0}}}
JS

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
dns = json.load(open(w + "/dns.json"))
res["dns"] = dns
json.dump(res, open(out, "w"), indent=1)
K, D2, U2 = dns["khiend"], dns["dnsmasq"], dns["unbound"]
print()
print("| dnsperf, %d s, 1M list, caches off | khiend | dnsmasq | unbound | responder alone |" % dns["seconds"])
print("|---|---|---|---|---|")
print("| blocked names, q/s | %.0f | %.0f | %.0f | - |" % (K["blocked_qps"], D2["blocked_qps"], U2["blocked_qps"]))
print("| forwarded names, q/s | %.0f | %.0f | %.0f | %.0f |" % (K["forwarded_qps"], D2["forwarded_qps"], U2["forwarded_qps"], dns["responder_qps"]))
print("| khiend / dnsmasq, khiend / unbound (blocked) | %.2fx, %.2fx | | | |" % (K["blocked_qps"] / max(D2["blocked_qps"], 1), K["blocked_qps"] / max(U2["blocked_qps"], 1)))
print("| khiend / unbound (forwarded) | %.2fx | | | |" % (K["forwarded_qps"] / max(U2["forwarded_qps"], 1)))
print("| khiend RSS with the 1M index | %.1f MB (after the runs: %.1f MB) | | | |" % (K["rss_kb"] / 1024, K["rss_kb_after"] / 1024))
print("| 10 index swaps under load | %d reloads, %.0f q/s, %s queries lost | | | |" % (K["swap_reloads"], K["swap_qps"], K["swap_lost"]))
PY
