#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
#
# `make bench`, integrity part: what a baseline scan costs. A fixture root
# with 5,000 watched files (executables and libraries of 1-16 KiB under
# /usr/bin, /usr/lib and friends, plus the persistence points), its
# baseline signed into a bundle, and khiend scanning in slices on its own
# loop (no privilege separation: "user": "", the worst case, where the
# scan shares the loop that answers DNS). Measured: the CPU time of one
# full scan (khiend's utime+stime over several scans, from /proc), and
# dnsperf's latency with no scan and with scans back to back.
# usage: tests/bench/integrity_bench.sh BUILD_DIR
set -euo pipefail
O=$(cd "${1:?usage: integrity_bench.sh BUILD_DIR}" && pwd)
top=$(cd "$(dirname "$0")/../.." && pwd)
W=$(mktemp -d /tmp/khien-integrity-bench.XXXXXX)
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; rm -rf "$W"; }
trap cleanup EXIT
say() { printf '[bench] %s\n' "$*" >&2; }
P=$O/khien-policy
UP=15510; KH=15511
secs=${KHIEN_BENCH_SECONDS:-8}
files=${KHIEN_BENCH_FILES:-5000}

say "integrity: fixture root with $files watched files..."
"$top/tests/fixtures/audit/mkroot.sh" hardened "$W/root"
python3 - "$W/root" "$files" <<'PY'
import os, random, sys
r, n = sys.argv[1], int(sys.argv[2])
random.seed(7)
dirs = ["bin", "sbin", "usr/bin", "usr/sbin", "lib", "usr/lib"]
os.makedirs(os.path.join(r, "etc/init.d"), exist_ok=True)
for i in range(40):
	p = os.path.join(r, "etc/init.d/svc%02d" % i)
	open(p, "w").write("#!/bin/sh /etc/rc.common\nSTART=%d\n" % i)
	os.chmod(p, 0o755)
made = 40
i = 0
while made < n:
	d = os.path.join(r, dirs[i % len(dirs)], "pkg%02d" % (i % 50) if dirs[i % len(dirs)] == "usr/lib" else "")
	os.makedirs(d, exist_ok=True)
	lib = dirs[i % len(dirs)].endswith("lib")
	p = os.path.join(d, ("lib%05d.so" if lib else "tool%05d") % i)
	with open(p, "wb") as f:
		f.write(b"\x7fELF" + os.urandom(random.randint(1024, 16384)))
	os.chmod(p, 0o644 if lib else 0o755)
	made += 1
	i += 1
PY
"$P" baseline --root "$W/root" --version 1 -o "$W/b.json" --table "$W/b.tbl" >/dev/null
nfiles=$(python3 -c 'import json,sys; print(len(json.load(open(sys.argv[1]))["files"]))' "$W/b.json")
mb=$(du -sm "$W/root" | cut -f1)
"$P" keygen -o "$W/k" >/dev/null
"$P" root init --key "$W/k.pub" --policy-key "$W/k.pub" --expires +30d -o "$W/root.json" >/dev/null
"$P" root sign --key "$W/k.key" "$W/root.json" >/dev/null
"$P" compile -q -o "$W/idx" --list malware="$top/tests/fixtures/lists/malware.hosts" >/dev/null 2>&1
"$P" bundle --key "$W/k.key" --version 1 --expires +1d --component blocklist="$W/idx" \
	--component baseline="$W/b.tbl" -o "$W/b1" >/dev/null

"$O/tests/khien-testdns" --listen 127.0.0.1:$UP --id 9 2>/dev/null &
pids+=($!)
cat > "$W/k.json" <<JS
{"dns": {"listen": ["127.0.0.1:$KH"], "upstreams": ["127.0.0.1:$UP"], "cache": false},
 "audit": {"interval_s": 0}, "integrity": {"interval_s": 0, "notify": false},
 "user": "", "log_level": "error"}
JS
"$O/khiend" -f --config "$W/k.json" --control "$W/ctl" --state-dir "$W/state" --trust-root "$W/root.json" \
	--bundle "$W/b1" --audit-root "$W/root" 2>"$W/khiend.log" &
pids+=($!)
kpid=$!
for _ in $(seq 100); do "$O/khienctl" --control "$W/ctl" status >/dev/null 2>&1 && break; sleep 0.05; done
ctl() { "$O/khienctl" --control "$W/ctl" "$@"; }
# the engine (the child serving DNS and scanning; the parent owns the trust state)
epid=$(ctl status | python3 -c 'import json,sys; print(json.load(sys.stdin)["pid"])')
cpu() { awk '{print $14 + $15}' /proc/$epid/stat; } # clock ticks
hz=$(getconf CLK_TCK)

ctl integrity run >/dev/null || true # the first one warms the page cache
n=5
c0=$(cpu); t0=$(date +%s%N)
for _ in $(seq $n); do ctl integrity run >/dev/null || true; done
c1=$(cpu); t1=$(date +%s%N)
cpu_ms=$(( (c1 - c0) * 1000 / hz / n ))
wall_ms=$(( (t1 - t0) / 1000000 / n ))
drifts=$(ctl integrity --json | python3 -c 'import json,sys; print(len(json.load(sys.stdin)["integrity"]["drifts"]))' || true)
say "one full scan of $nfiles files ($mb MB): ${cpu_ms} ms CPU, ${wall_ms} ms wall (drifts: $drifts)"

for _ in $(seq 1000); do echo "fwd$RANDOM.allowed-bench.test A"; done > "$W/q.txt"
perf() { # -> "qps avg_ms max_ms"
	dnsperf -s 127.0.0.1 -p $KH -d "$W/q.txt" -l "$secs" -c 4 -Q 2000 -t 2 2>/dev/null |
		awk '/Queries per second:/ {q=$4} /Average Latency/ {a=$4; gsub(/[(,]/, "", $6); gsub(/[),]/, "", $8); mx=$8}
		     END {printf "%s %.3f %.3f\n", q, a * 1000, mx * 1000}'
}
say "dnsperf ${secs}s at 2,000 q/s, no scan..."
read -r q0 a0 m0 <<< "$(perf)"
say "  $q0 q/s, latency avg ${a0} ms, max ${m0} ms"
say "dnsperf ${secs}s at 2,000 q/s, scans back to back..."
( end=$((SECONDS + secs + 2)); k=0; while [ $SECONDS -lt $end ]; do ctl integrity run >/dev/null 2>&1 || true; k=$((k + 1)); done; echo $k > "$W/runs" ) &
lp=$!
sleep 0.5
read -r q1 a1 m1 <<< "$(perf)"
wait $lp || true
runs=$(cat "$W/runs")
say "  $q1 q/s, latency avg ${a1} ms, max ${m1} ms, during $runs scans"
rss=$(awk '/^VmHWM/ {print $2}' /proc/$epid/status)
kill $kpid; wait $kpid 2>/dev/null || true
tbl=$(stat -c %s "$W/b.tbl")
say "table: $tbl bytes for $nfiles files; khiend engine peak RSS: $rss KB"
mkdir -p "$O/bench"
cat > "$O/bench/integrity.json" <<JS
{"files": $nfiles, "tree_mb": $mb, "table_bytes": $tbl, "scan_cpu_ms": $cpu_ms, "scan_wall_ms": $wall_ms,
 "dns_no_scan": {"qps": $q0, "avg_ms": $a0, "max_ms": $m0},
 "dns_scans": {"qps": $q1, "avg_ms": $a1, "max_ms": $m1, "scans": $runs},
 "max_latency_rise_ms": $(python3 -c "print(round($m1 - $m0, 3))"), "peak_rss_kb": $rss}
JS
cat "$O/bench/integrity.json"
