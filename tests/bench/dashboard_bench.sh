#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
#
# The operator side with an ISP-sized store (issue 16): 1,000,000 devices and
# 20,000,000 events generated straight into a throwaway PostgreSQL cluster
# (generate_series, not the devices: this is the store's size, not its
# ingest), then one khien-server answers the operator's pages and API and
# each is timed over a kept-alive TLS connection: p50, p99, max (`make
# bench`, never pass/fail; the issue's bar is overview and an incidents page
# under 200 ms at p99). Skipped with a message without PostgreSQL.
# Results: a table on stdout and BUILD/bench/dashboard-results.json.
# usage: tests/bench/dashboard_bench.sh BUILD_DIR [PATH ...]
# env: KHIEN_BENCH_DEVICES (1000000), KHIEN_BENCH_EVENTS (20000000),
#      KHIEN_BENCH_REQUESTS (50 per path)
set -euo pipefail
O=$(cd "${1:?usage: dashboard_bench.sh BUILD_DIR [PATH ...]}" && pwd)
shift
SRV=$O/khien-server
PG_BIN=${PG_BIN:-/usr/lib/postgresql/15/bin}
ndev=${KHIEN_BENCH_DEVICES:-1000000}
nev=${KHIEN_BENCH_EVENTS:-20000000}
nreq=${KHIEN_BENCH_REQUESTS:-50}
say() { printf '[dashboard-bench] %s\n' "$*" >&2; }
if [ ! -x "$PG_BIN/initdb" ] || ! id postgres >/dev/null 2>&1; then
	say "skipped: PostgreSQL is not installed ($PG_BIN; scripts/deps.sh bench installs it)"
	exit 0
fi
[ -x "$SRV" ] || { say "missing $SRV (make builds it)"; exit 2; }
W=$(mktemp -d /tmp/khien-dashbench.XXXXXX)
. "$(dirname "$0")/pg_cluster.sh"
pg_cluster_start -c shared_buffers=1GB -c max_wal_size=8GB -c maintenance_work_mem=512MB
db="postgresql://khien@/khien?host=$PG"
sql() { "$PG_BIN/psql" -X -q -At -v ON_ERROR_STOP=1 "$db" -c "$1"; }

port=$((20000 + RANDOM % 12000))
"$SRV" init --dir "$W/s" --url "https://127.0.0.1:$port" --database "$db" >"$W/init.log" 2>&1 ||
	{ cat "$W/init.log" >&2; exit 1; }
now=$(date +%s)
t0=$(date +%s.%N)
say "generating $ndev devices (10 groups, 5 firmware versions, 3 policy versions, last seen over 2 h)..."
sql "INSERT INTO devices(serial, grp, cert_sha256, created, last_seen, firmware, hardware_id,
       policy_version, last_seq, checkins)
     SELECT 'SN-' || lpad(i::text, 8, '0'), 'g' || (i % 10), sha256(int8send(i)), $now - 86400 * 30,
            $now - (i * 7919) % 7200, 'khiend 1.' || (i % 5), 'hw-' || (i % 3), 1 + i % 3,
            $nev / $ndev, 100
     FROM generate_series(1::bigint, $ndev) i"
say "devices in $(python3 -c "import time; print(round(time.time() - $t0, 1))") s; generating $nev events over 7 days (a few minutes)..."
# in slices, each its own transaction, so progress shows and WAL stays bounded
slice=2000000
for ((off = 0; off < nev; off += slice)); do
	n=$((nev - off < slice ? nev - off : slice))
	sql "INSERT INTO events(serial, seq, time, received, type, severity, payload)
	     SELECT 'SN-' || lpad((1 + (i * 48271) % $ndev)::text, 8, '0'), i, t, t,
	            CASE WHEN i % 50 = 0 THEN 'policy_applied' ELSE 'dns_blocked' END,
	            CASE WHEN i % 10 < 6 THEN 2 WHEN i % 10 < 9 THEN 3 ELSE 4 END,
	            '{\"name\":\"threat-' || (i % 5000) || '.example\",\"category\":\"' ||
	            (ARRAY['malware','phishing','botnet','gambling','adult'])[1 + i % 5] ||
	            '\",\"client\":\"' || substr(md5(i::text), 1, 16) || '\"}'
	     FROM (SELECT i, $now - (i * 7) % 604800 AS t
	           FROM generate_series($off + 1::bigint, $off + $n) i) g"
	say "  events $((off + n)) / $nev ($(python3 -c "import time; print(round(time.time() - $t0))") s)"
done
# the hourly counts are the server's to make: as for a store from before them
# (schema 8), the migration makes them from the events when the server opens it
sql "DROP TABLE event_counts; UPDATE khien_schema SET version = 8"
t1=$(date +%s.%N)
"$SRV" events --dir "$W/s" --limit 1 >/dev/null
say "the migration made the hourly counts ($(sql "SELECT count(*) FROM event_counts") rows) in $(python3 -c "import time; print(round(time.time() - $t1, 1))") s"
sql "ANALYZE"
say "store: $(sql "SELECT pg_size_pretty(pg_database_size('khien'))") after $(python3 -c "import time; print(round(time.time() - $t0))") s"

"$SRV" run --dir "$W/s" >"$W/server.log" 2>&1 &
spid=$!
for _ in $(seq 200); do
	(exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null && break
	kill -0 "$spid" 2>/dev/null || { tail -20 "$W/server.log" >&2; exit 1; }
	sleep 0.05
done
[ $# -gt 0 ] || set -- /dashboard/ "/dashboard/incidents?range=24h" "/dashboard/incidents?range=7d" \
	/dashboard/compliance /dashboard/warnings /dashboard/devices /dashboard/events \
	/dashboard/device/SN-00500000 "/v1/admin/events?since=$((nev - 100))&limit=100"
mkdir -p "$O/bench"
python3 - "$W/s" "$port" "$nreq" "$O/bench/dashboard-results.json" "$ndev" "$nev" "$@" <<'PY'
import http.client, json, ssl, sys, time
d, port, nreq, out, ndev, nev = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), sys.argv[4], sys.argv[5], sys.argv[6]
tok = open(d + "/operator.token").read().strip()
ctx = ssl.create_default_context(cafile=d + "/server-ca.pem")
c = http.client.HTTPSConnection("127.0.0.1", port, context=ctx, timeout=120)
res = []
print(f"\nkhien-server on PostgreSQL, {int(ndev):,} devices, {int(nev):,} events, {nreq} requests a path")
print(f"{'path':48} {'status':>6} {'bytes':>9} {'p50 ms':>8} {'p99 ms':>8} {'max ms':>8}")
for path in sys.argv[7:]:
    ts, st, size = [], 0, 0
    for _ in range(nreq):
        t = time.perf_counter()
        c.request("GET", path, headers={"Authorization": "Bearer " + tok})
        r = c.getresponse()
        body = r.read()
        ts.append((time.perf_counter() - t) * 1000)
        st, size = r.status, len(body)
        if r.getheader("Connection", "").lower() == "close":
            c.close()
            c = http.client.HTTPSConnection("127.0.0.1", port, context=ctx, timeout=120)
    ts.sort()
    p = lambda q: ts[min(len(ts) - 1, int(q * len(ts)))]
    res.append({"path": path, "status": st, "bytes": size, "p50_ms": round(p(0.5), 2),
                "p99_ms": round(p(0.99), 2), "max_ms": round(ts[-1], 2)})
    print(f"{path[:48]:48} {st:>6} {size:>9} {p(0.5):>8.1f} {p(0.99):>8.1f} {ts[-1]:>8.1f}")
json.dump({"devices": int(ndev), "events": int(nev), "requests": nreq, "paths": res}, open(out, "w"), indent=1)
PY
say "results: $O/bench/dashboard-results.json"
