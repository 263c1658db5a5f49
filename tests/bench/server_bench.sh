#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
#
# khien-server under load (`make bench`, never pass/fail): one server on
# 127.0.0.1 and khien-loadgen simulating devices, each with its own
# certificate, over real mutual TLS. Measures check-ins/s with session
# resumption and with full handshakes, events stored/s, and the server's RSS
# with 10,000 connected devices. Device identities are issued once into
# BUILD/bench/server-template (on tmpfs while issuing, when there is one) and
# each run works on a fresh copy of that instance.
# Results: a table on stdout and BUILD/bench/server-results.json (one JSON
# line per measurement). Record them in docs/PERFORMANCE.md with the machine.
# usage: tests/bench/server_bench.sh BUILD_DIR
# env: KHIEN_BENCH_SECONDS (default 10), KHIEN_BENCH_HOLD (default 10000)
set -euo pipefail
O=$(cd "${1:?usage: server_bench.sh BUILD_DIR}" && pwd)
SRV=$O/khien-server
LG=$O/bench/khien-loadgen
secs=${KHIEN_BENCH_SECONDS:-10}
hold=${KHIEN_BENCH_HOLD:-10000}
devices=$((hold > 1000 ? hold : 1000))
TPL=$O/bench/server-template
W=$(mktemp -d /tmp/khien-srvbench.XXXXXX)
spid=""
tmpl_work=""
cleanup() {
	[ -n "$spid" ] && kill "$spid" 2>/dev/null && wait "$spid" 2>/dev/null
	[ -n "$tmpl_work" ] && rm -rf "$tmpl_work"
	rm -rf "$W"
}
trap cleanup EXIT
say() { printf '[server-bench] %s\n' "$*" >&2; }
for b in "$SRV" "$LG"; do [ -x "$b" ] || { say "missing $b (make bench builds it)"; exit 2; }; done
mkdir -p "$O/bench"

say "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs), $(free -g | awk '/Mem/{print $2}') GiB, $(uname -r)"
say "loadgen and server share the machine: each needs about one core at full load"
# Both processes need a descriptor per connection; each raises its soft limit itself.
hard=$(ulimit -Hn)
if [ "$hard" != unlimited ] && [ "$hard" -lt $((hold + 200)) ]; then
	say "open-file hard limit $hard: holding $((hard - 200)) connections instead of $hold"
	hold=$((hard - 200))
fi

# ---------------------------------------------------------------- the instance
port=$((20000 + RANDOM % 30000))
if ! [ -s "$TPL/loadgen-ids" ] || ! [ -s "$TPL/server.json" ]; then
	shm=/dev/shm
	[ -d "$shm" ] && [ -w "$shm" ] || shm=$W
	tmpl_work=$(mktemp -d "$shm/khien-tpl.XXXXXX")
	say "issuing $devices device identities (once; kept in $TPL)..."
	"$SRV" init --dir "$tmpl_work/srv" --url "https://127.0.0.1:$port" >"$W/init.log" 2>&1 ||
		{ cat "$W/init.log" >&2; exit 1; }
	"$LG" provision --dir "$tmpl_work/srv" --devices "$devices" \
		--identities "$tmpl_work/srv/loadgen-ids" >/dev/null
	rm -rf "$TPL"
	cp -a "$tmpl_work/srv" "$TPL"
	rm -rf "$tmpl_work"
	tmpl_work=""
fi
S=$W/srv
cp -a "$TPL" "$S"
python3 - "$S/server.json" "$port" "$hold" <<'PY'
import json, sys
p, port, hold = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
c = json.load(open(p))
c["url"] = "https://127.0.0.1:%d" % port
c["listen"] = "127.0.0.1:%d" % port
c["idle_timeout_ms"] = 600000       # hold: idle devices stay connected
c["max_connections"] = max(20000, hold + 1000)
# throughput of the store, not the per-device quota (16 devices upload flat out)
c["event_quota_events"] = 100000000
c["event_quota_bytes"] = 4294967295
json.dump(c, open(p, "w"), indent=1)
PY
IDS=(--dir "$S" --identities "$S/loadgen-ids")

"$SRV" run --dir "$S" >"$W/server.log" 2>&1 &
spid=$!
for _ in $(seq 100); do
	(exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null && break
	kill -0 "$spid" 2>/dev/null || { tail -20 "$W/server.log" >&2; exit 1; }
	sleep 0.05
done
say "khien-server pid $spid on 127.0.0.1:$port (store on $(df --output=source "$S" | tail -1), synchronous=FULL)"

RES=$O/bench/server-results.json
: >"$RES"
run_lg() { # NAME ARGS...: one loadgen run, its JSON line kept
	local name=$1
	shift
	say "$name: khien-loadgen $*"
	if ! "$LG" "$@" --server-pid "$spid" >"$W/$name.json" 2>"$W/$name.err"; then
		say "$name: errors above the threshold (see below)"
	fi
	grep -v '^\[loadgen\]' "$W/$name.err" >&2 || true
	cat "$W/$name.json" >>"$RES"
}
get() { python3 -c "import json,sys; d=json.load(open(sys.argv[1])); print($2)" "$W/$1.json" 2>/dev/null || echo nan; }

run_lg checkin-resume checkin "${IDS[@]}" --devices 1000 --conns 64 --duration "$secs"
run_lg checkin-full checkin "${IDS[@]}" --devices 1000 --conns 64 --duration "$secs" --no-resume
run_lg events events "${IDS[@]}" --conns 16 --batch 100 --duration "$secs"
run_lg hold hold "${IDS[@]}" --devices "$devices" --conns "$hold" --duration 10

kill "$spid" && wait "$spid" 2>/dev/null || true
spid=""

printf '\n%-34s %14s %12s %12s %10s\n' "khien-server on 127.0.0.1" "rate" "p50 ms" "p99 ms" "errors"
row() { # NAME LABEL RATE-EXPR UNIT
	printf '%-34s %10s %-3s %12s %12s %10s\n' "$2" "$(get "$1" "round($3)")" "$4" \
		"$(get "$1" 'd["latency_ms"]["p50"]')" "$(get "$1" 'd["latency_ms"]["p99"]')" \
		"$(get "$1" 'd["errors"]["total"]')"
}
row checkin-resume "check-ins, session resumption" 'd["checkins_per_s"]' "/s"
printf '%-34s %14s\n' "  share resumed" "$(get checkin-resume 'round(100 * d["resumed_share"], 1)')%"
row checkin-full "check-ins, full handshakes" 'd["checkins_per_s"]' "/s"
row events "event uploads (100 per POST)" 'd["uploads_per_s"]' "/s"
printf '%-34s %10s /s\n' "  events stored" "$(get events 'round(d["events_stored_per_s"])')"
printf '%-34s %10s\n' "connections held (idle)" "$(get hold 'd["held"]')/$(get hold 'd["connections"]')"
printf '%-34s %10s /s\n' "  opened (full handshake+check-in)" "$(get hold 'round(d["opened_per_s"])')"
printf '%-34s %10s KiB\n' "  server RSS before" "$(get hold 'd["server_rss_before_kb"]')"
printf '%-34s %10s KiB\n' "  server RSS holding" "$(get hold 'd["server_rss_end_kb"]')"
printf '%-34s %10s KiB\n' "  server RSS per 10k connections" "$(get hold 'd["server_rss_per_10k_kb"]')"
printf '%-34s %10s KiB\n' "  server RSS 1 s after they closed" "$(get hold 'd["server_rss_closed_kb"]')"
printf '%-34s %10s KiB after %s ms\n' "  ... settled (within 25% or 8 s)" "$(get hold 'd["server_rss_settled_kb"]')" \
	"$(get hold 'd["settle_ms"]')"
say "results: $RES"
