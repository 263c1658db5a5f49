#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
#
# Check-ins/s (session resumption) and events stored/s with khien-server on
# SQLite and on PostgreSQL, the same devices and load one after the other
# (`make bench`, never pass/fail). PostgreSQL runs in a throwaway cluster
# (initdb as the postgres user, a Unix socket in a temporary directory)
# with its durable defaults (fsync, synchronous_commit on). Skipped with a
# message when PostgreSQL is not installed.
# Results: a table on stdout and BUILD/bench/server-pg-results.json.
# usage: tests/bench/server_pg_bench.sh BUILD_DIR
# env: KHIEN_BENCH_SECONDS (default 10), KHIEN_BENCH_DEVICES (default 1000)
set -euo pipefail
O=$(cd "${1:?usage: server_pg_bench.sh BUILD_DIR}" && pwd)
SRV=$O/khien-server
LG=$O/bench/khien-loadgen
PG_BIN=${PG_BIN:-/usr/lib/postgresql/15/bin}
secs=${KHIEN_BENCH_SECONDS:-10}
devices=${KHIEN_BENCH_DEVICES:-1000}
say() { printf '[server-pg-bench] %s\n' "$*" >&2; }
if [ ! -x "$PG_BIN/initdb" ] || ! id postgres >/dev/null 2>&1; then
	say "skipped: PostgreSQL is not installed ($PG_BIN; scripts/deps.sh bench installs it)"
	exit 0
fi
for b in "$SRV" "$LG"; do [ -x "$b" ] || { say "missing $b (make bench builds it)"; exit 2; }; done
W=$(mktemp -d /tmp/khien-pgbench.XXXXXX)
. "$(dirname "$0")/pg_cluster.sh"
pg_cluster_start -c shared_buffers=256MB
say "PostgreSQL $("$PG_BIN/postgres" --version | awk '{print $3}') in $PG (fsync on, synchronous_commit on)"

RES=$O/bench/server-pg-results.json
mkdir -p "$O/bench"
: >"$RES"
get() { python3 -c "import json,sys; d=json.load(open(sys.argv[1])); print($2)" "$W/$1.json" 2>/dev/null || echo nan; }

# one instance per store, each issuing its own devices (into that store)
bench() { # NAME [init args...]
	local name=$1 port
	shift
	# below the ephemeral range (32768+), and free now
	for _ in $(seq 20); do
		port=$((20000 + RANDOM % 12000))
		(exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null || break
	done
	"$SRV" init --dir "$W/$name" --url "https://127.0.0.1:$port" "$@" >"$W/$name-init.log" 2>&1 ||
		{ cat "$W/$name-init.log" >&2; exit 1; }
	python3 - "$W/$name/server.json" <<'PY'
import json, sys
c = json.load(open(sys.argv[1]))
c["event_quota_events"] = 100000000   # the store's throughput, not the quota
c["event_quota_bytes"] = 4294967295
json.dump(c, open(sys.argv[1], "w"), indent=1)
PY
	say "$name: issuing $devices device identities..."
	"$LG" provision --dir "$W/$name" --devices "$devices" --identities "$W/$name/ids" >/dev/null
	"$SRV" run --dir "$W/$name" >"$W/$name-server.log" 2>&1 &
	spid=$!
	for _ in $(seq 100); do
		(exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null && break
		kill -0 "$spid" 2>/dev/null || { tail -20 "$W/$name-server.log" >&2; exit 1; }
		sleep 0.05
	done
	for m in checkin events; do
		local args=(--devices "$devices" --conns 64)
		[ $m = events ] && args=(--conns 16 --batch 100)
		say "$name: khien-loadgen $m ${args[*]} --duration $secs"
		"$LG" $m --dir "$W/$name" --identities "$W/$name/ids" "${args[@]}" --duration "$secs" \
			--server-pid "$spid" >"$W/$name-$m.json" 2>"$W/$name-$m.err" ||
			say "$name $m: errors above the threshold"
		grep -v '^\[loadgen\]' "$W/$name-$m.err" >&2 || true
		python3 -c "import json,sys; d=json.load(open(sys.argv[1])); d['store']=sys.argv[2]; print(json.dumps(d))" \
			"$W/$name-$m.json" "$name" >>"$RES" 2>/dev/null || true
	done
	kill "$spid" && wait "$spid" 2>/dev/null || true
	spid=""
}
free_port() {
	local port
	for _ in $(seq 20); do
		port=$((20000 + RANDOM % 12000))
		(exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null || break
	done
	echo "$port"
}
wait_port() { # PORT PID LOG
	for _ in $(seq 100); do
		(exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null && return 0
		kill -0 "$2" 2>/dev/null || { tail -20 "$3" >&2; exit 1; }
		sleep 0.05
	done
}

# Two instances on one PostgreSQL (B a copy of A: same CAs, keys and
# database), each loaded at once by its own khien-loadgen with half the
# connections; the devices resume their sessions on either.
two() {
	local p1 p2 pid1 pid2 l1 l2 m
	p1=$(free_port)
	"$SRV" init --dir "$W/pg2a" --url "https://127.0.0.1:$p1" \
		--database "postgresql://khien@/khien2?host=$PG" >"$W/pg2-init.log" 2>&1 ||
		{ cat "$W/pg2-init.log" >&2; exit 1; }
	python3 - "$W/pg2a/server.json" <<'PY'
import json, sys
c = json.load(open(sys.argv[1]))
c["event_quota_events"] = 100000000
c["event_quota_bytes"] = 4294967295
json.dump(c, open(sys.argv[1], "w"), indent=1)
PY
	say "two instances: issuing $devices device identities..."
	"$LG" provision --dir "$W/pg2a" --devices "$devices" --identities "$W/pg2a/ids" >/dev/null
	cp -a "$W/pg2a" "$W/pg2b"
	p2=$(free_port)
	"$SRV" run --dir "$W/pg2a" >"$W/pg2a-server.log" 2>&1 &
	pid1=$!
	"$SRV" run --dir "$W/pg2b" --listen "127.0.0.1:$p2" >"$W/pg2b-server.log" 2>&1 &
	pid2=$!
	wait_port "$p1" "$pid1" "$W/pg2a-server.log"
	wait_port "$p2" "$pid2" "$W/pg2b-server.log"
	for m in checkin events; do
		local args=(--devices "$devices" --conns 32)
		[ $m = events ] && args=(--conns 8 --batch 100)
		say "two instances: khien-loadgen $m ${args[*]} --duration $secs, on each"
		"$LG" $m --dir "$W/pg2a" --identities "$W/pg2a/ids" "${args[@]}" --duration "$secs" \
			--connect "127.0.0.1:$p1" >"$W/pg2-$m-a.json" 2>"$W/pg2-$m-a.err" &
		l1=$!
		"$LG" $m --dir "$W/pg2a" --identities "$W/pg2a/ids" "${args[@]}" --duration "$secs" \
			--connect "127.0.0.1:$p2" >"$W/pg2-$m-b.json" 2>"$W/pg2-$m-b.err" &
		l2=$!
		wait $l1 || say "two instances $m (A): errors above the threshold"
		wait $l2 || say "two instances $m (B): errors above the threshold"
		python3 - "$W/pg2-$m-a.json" "$W/pg2-$m-b.json" "$W/postgresql2-$m.json" >>"$RES" <<'PY' || true
import json, sys
a, b = (json.load(open(f)) for f in sys.argv[1:3])
d = {"store": "postgresql, two instances", "mode": a.get("mode")}
for k in ("checkins_per_s", "events_stored_per_s"):
    if k in a and k in b:
        d[k] = a[k] + b[k]
if "latency_ms" in a and "latency_ms" in b:
    d["latency_ms"] = {"p99": max(a["latency_ms"]["p99"], b["latency_ms"]["p99"])}
json.dump(d, open(sys.argv[3], "w"))
print(json.dumps(d))
PY
	done
	kill "$pid1" "$pid2" 2>/dev/null
	wait "$pid1" "$pid2" 2>/dev/null || true
}

bench sqlite
bench postgresql --database "postgresql://khien@/khien?host=$PG"
"$PG_BIN/createdb" -h "$PG" -U khien khien2
two

printf '\n%-34s %14s %14s %16s\n' "khien-server, $secs s each" "SQLite" "PostgreSQL" "PG, 2 instances"
printf '%-34s %12s/s %12s/s %14s/s\n' "check-ins, session resumption" \
	"$(get sqlite-checkin 'round(d["checkins_per_s"])')" "$(get postgresql-checkin 'round(d["checkins_per_s"])')" \
	"$(get postgresql2-checkin 'round(d["checkins_per_s"])')"
printf '%-34s %12s %14s %16s\n' "  p99 ms" \
	"$(get sqlite-checkin 'd["latency_ms"]["p99"]')" "$(get postgresql-checkin 'd["latency_ms"]["p99"]')" \
	"$(get postgresql2-checkin 'd["latency_ms"]["p99"]')"
printf '%-34s %12s/s %12s/s %14s/s\n' "events stored (100 per POST)" \
	"$(get sqlite-events 'round(d["events_stored_per_s"])')" "$(get postgresql-events 'round(d["events_stored_per_s"])')" \
	"$(get postgresql2-events 'round(d["events_stored_per_s"])')"
say "results: $RES"
