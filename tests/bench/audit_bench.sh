#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
#
# `make bench`, audit part: what an audit costs the DNS filter. khiend runs
# the OpenWrt baseline in slices on its own loop (no privilege separation:
# "user": "", the worst case, where the audit shares the loop that answers
# DNS) against the factory fixture root grown with 20,000 files under /usr
# and /etc for the walks, while dnsperf measures latency: once with no
# audit, once with audits run back to back for the whole measurement.
# Also: the time of one audit, the engine's text size (the objects the
# device links for the audit, compiled as the firmware profile
# tiny_defconfig compiles them), and peak heap while a run is in progress.
# usage: tests/bench/audit_bench.sh BUILD_DIR [size]   (size: text and heap only)
set -euo pipefail
O=$(cd "${1:?usage: audit_bench.sh BUILD_DIR [size]}" && pwd)
only=${2:-}
top=$(cd "$(dirname "$0")/../.." && pwd)
W=$(mktemp -d /tmp/khien-audit-bench.XXXXXX)
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; rm -rf "$W"; }
trap cleanup EXIT
say() { printf '[bench] %s\n' "$*" >&2; }
P=$O/khien-policy
UP=15500; KH=15501
secs=${KHIEN_BENCH_SECONDS:-8}

say "audit: fixture root with 20,000 extra files..."
"$top/tests/fixtures/audit/mkroot.sh" factory "$W/root"
python3 - "$W/root" <<'PY'
import os, sys
r = sys.argv[1]
for d in range(200):
	p = os.path.join(r, "usr/lib/pkg%03d" % d)
	os.makedirs(p, exist_ok=True)
	for f in range(100):
		with open(os.path.join(p, "f%03d" % f), "w") as fh:
			fh.write("x")
PY
"$P" keygen -o "$W/k" >/dev/null
"$P" root init --key "$W/k.pub" --policy-key "$W/k.pub" --expires +30d -o "$W/root.json" >/dev/null
"$P" root sign --key "$W/k.key" "$W/root.json" >/dev/null
"$P" compile -q -o "$W/idx" --list malware="$top/tests/fixtures/lists/malware.hosts" >/dev/null 2>&1
"$P" audit compile "$top/policy/rules/openwrt-baseline.json" -o "$W/audit.rules" >/dev/null
"$P" bundle --key "$W/k.key" --version 1 --expires +1d --component blocklist="$W/idx" \
	--component audit="$W/audit.rules" -o "$W/b1" >/dev/null

# text of the audit engine as the device links it: the firmware profile's objects
# (CONFIG_SIZE_OPTIMIZED: -Os, no unwind tables), built beside BUILD_DIR
engine_text() {
	local S=$O/audit-size objs=() f
	local files="policy/audit.c policy/audit_eval.c policy/audit_proc.c policy/audit_re.c policy/uci.c
		platform/linux/fsroot.c agent/audit.c agent/auditor.c"
	mkdir -p "$S"
	(cd "$top" && make -s O="$S" KCONFIG_CONFIG="$S/.config" tiny_defconfig >/dev/null)
	for f in $files; do objs+=("$S/obj/${f%.c}.o"); done
	(cd "$top" && make -s O="$S" KCONFIG_CONFIG="$S/.config" "${objs[@]}" >&2)
	size "${objs[@]}" | awk 'NR > 1 {printf "[bench]   %6d %s\n", $1, $6; t += $1} END {print t}' |
		tee /dev/stderr | tail -1
}
# what the audit adds to khiend: the router profile (linux_defconfig, CONFIG_SIZE_OPTIMIZED,
# section GC) linked with and without CONFIG_AUDIT; `size` text of each. OFF: other
# modules left out of both (none: the shipped build, where the UCI reader and confined
# file access are shared with the configuration and the integrity scan)
khiend_text() { # NAME CONFIG_LINES...
	local S=$O/audit-size-$1
	shift
	mkdir -p "$S"
	{ grep -v -e ^CONFIG_TOOL_ -e ^CONFIG_SIZE_OPTIMIZED= -e ^CONFIG_AUDIT= -e ^CONFIG_INTEGRITY= \
		"$top/configs/linux_defconfig"; printf '%s\n' CONFIG_TOOL_POLICY=n CONFIG_TOOL_SERVER=n \
		CONFIG_SIZE_OPTIMIZED=y "$@"; } >"$S/.config"
	(cd "$top" && make -s O="$S" KCONFIG_CONFIG="$S/.config" olddefconfig >/dev/null &&
		make -s O="$S" KCONFIG_CONFIG="$S/.config" CFLAGS="-ffunction-sections -fdata-sections" \
			LDFLAGS="-Wl,--gc-sections" "$S/khiend" >&2)
	size "$S/khiend" | awk 'NR == 2 {print $1}'
}
marginal_text() {
	local with without alone none
	with=$(khiend_text with CONFIG_AUDIT=y CONFIG_INTEGRITY=y)
	without=$(khiend_text without CONFIG_AUDIT=n CONFIG_INTEGRITY=y)
	alone=$(khiend_text alone CONFIG_AUDIT=y CONFIG_INTEGRITY=n)
	none=$(khiend_text none CONFIG_AUDIT=n CONFIG_INTEGRITY=n)
	say "  khiend text with / without CONFIG_AUDIT: $with / $without: the audit adds $((with - without)) bytes"
	say "  ... with CONFIG_INTEGRITY off too (fsroot is the audit's alone): $alone / $none: $((alone - none))"
	echo "$((with - without)) $((alone - none))"
}
# heap while a run is in progress: the engine over the same root in the tool (massif),
# on the compiled rules as a device holds them
audit_heap() {
	valgrind --tool=massif --massif-out-file="$W/massif" "$P" audit check "$W/audit.rules" --root "$W/root" \
		>/dev/null 2>&1 || true
	awk -F= '/^mem_heap_B=/ {if ($2 > m) m = $2} END {print m + 0}' "$W/massif"
}
if [ "$only" = size ]; then
	say "audit engine text (firmware profile objects, x86-64):"
	text=$(engine_text)
	say "  $text bytes"
	say "what the audit adds to khiend (router profile, x86-64):"
	read -r marginal marginal_alone <<<"$(marginal_text)"
	heap_peak=$(audit_heap)
	say "peak heap of an audit of the baseline (massif): $heap_peak bytes"
	echo "{\"engine_text_os\": $text, \"khiend_text_added\": $marginal," \
		"\"khiend_text_added_without_integrity\": $marginal_alone, \"audit_heap_peak_bytes\": $heap_peak}"
	exit 0
fi

"$O/tests/khien-testdns" --listen 127.0.0.1:$UP --id 9 2>/dev/null &
pids+=($!)
cat > "$W/k.json" <<JS
{"dns": {"listen": ["127.0.0.1:$KH"], "upstreams": ["127.0.0.1:$UP"], "cache": false},
 "audit": {"interval_s": 0}, "user": "", "log_level": "error"}
JS
"$O/khiend" -f --config "$W/k.json" --control "$W/ctl" --state-dir "$W/state" --trust-root "$W/root.json" \
	--bundle "$W/b1" --audit-root "$W/root" 2>"$W/khiend.log" &
pids+=($!)
kpid=$!
for _ in $(seq 100); do "$O/khienctl" --control "$W/ctl" status >/dev/null 2>&1 && break; sleep 0.05; done
ctl() { "$O/khienctl" --control "$W/ctl" "$@"; }

# one audit, timed from the CLI (start to results)
t0=$(date +%s%N); ctl audit run --json > "$W/a.json" || true; t1=$(date +%s%N)
one_ms=$(( (t1 - t0) / 1000000 ))
checks=$(python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); print(len(d["checks"]), d["summary"]["error"])' "$W/a.json")
say "one audit of the baseline (33 checks, 20k-file walks): ${one_ms} ms (checks, errors: $checks)"

for _ in $(seq 1000); do echo "fwd$RANDOM.allowed-bench.test A"; done > "$W/q.txt"
perf() { # -> "qps avg_ms max_ms"
	dnsperf -s 127.0.0.1 -p $KH -d "$W/q.txt" -l "$secs" -c 4 -Q 2000 -t 2 2>/dev/null |
		awk '/Queries per second:/ {q=$4} /Average Latency/ {a=$4; gsub(/[(,]/, "", $6); gsub(/[),]/, "", $8); mx=$8}
		     END {printf "%s %.3f %.3f\n", q, a * 1000, mx * 1000}'
}
say "dnsperf ${secs}s at 2,000 q/s, no audit..."
read -r q0 a0 m0 <<< "$(perf)"
say "  $q0 q/s, latency avg ${a0} ms, max ${m0} ms"
say "dnsperf ${secs}s at 2,000 q/s, audits back to back..."
( end=$((SECONDS + secs + 2)); n=0; while [ $SECONDS -lt $end ]; do ctl audit run >/dev/null 2>&1 || true; n=$((n + 1)); done; echo $n > "$W/runs" ) &
lp=$!
sleep 0.5
read -r q1 a1 m1 <<< "$(perf)"
wait $lp || true
runs=$(cat "$W/runs")
say "  $q1 q/s, latency avg ${a1} ms, max ${m1} ms, during $runs audits"
heap=$(awk '/^VmHWM/ {print $2}' /proc/$kpid/status)
kill $kpid; wait $kpid 2>/dev/null || true

text=$(engine_text)
say "audit engine text (firmware profile objects, x86-64): $text bytes; khiend peak RSS over the run: $heap KB"
read -r marginal marginal_alone <<<"$(marginal_text)"
heap_peak=0
if command -v valgrind >/dev/null; then
	heap_peak=$(audit_heap)
	say "peak heap of an audit of the baseline (rules decoded, caches, walk state; massif): $heap_peak bytes"
fi
cat > "$O/bench/audit.json" <<JS
{"one_audit_ms": $one_ms, "dns_no_audit": {"qps": $q0, "avg_ms": $a0, "max_ms": $m0},
 "dns_audits": {"qps": $q1, "avg_ms": $a1, "max_ms": $m1, "audits": $runs},
 "max_latency_rise_ms": $(python3 -c "print(round($m1 - $m0, 3))"), "engine_text_os": $text,
 "khiend_text_added": $marginal, "khiend_text_added_without_integrity": $marginal_alone,
 "peak_rss_kb": $heap, "audit_heap_peak_bytes": $heap_peak}
JS
cat "$O/bench/audit.json"
