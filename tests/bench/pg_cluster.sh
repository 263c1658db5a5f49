# SPDX-License-Identifier: MIT
# shellcheck shell=bash
#
# Sourced by the PostgreSQL benches (server_pg_bench.sh, dashboard_bench.sh):
# a throwaway cluster in a temporary directory, initdb as the postgres user,
# a Unix socket only, removed with the bench's work directory W at exit
# (and the server whose pid is in spid stopped first).
# Needs: PG_BIN, W. Sets: PG (the socket directory), spid.
PG=$(mktemp -d /tmp/khien-pg.XXXXXX)
spid=""
cleanup() {
	[ -n "$spid" ] && kill "$spid" 2>/dev/null && wait "$spid" 2>/dev/null
	runuser -u postgres -- "$PG_BIN/pg_ctl" -D "$PG/data" -m fast stop >/dev/null 2>&1 || true
	rm -rf "$W" "$PG"
}
trap cleanup EXIT

# pg_cluster_start [SERVER OPTION ...]: the cluster running, with a database "khien"
pg_cluster_start() {
	chown postgres: "$PG" && chmod 755 "$PG"
	runuser -u postgres -- "$PG_BIN/initdb" -D "$PG/data" -U khien --auth=trust -E UTF8 --locale=C \
		>"$W/initdb.log" 2>&1 || { cat "$W/initdb.log" >&2; exit 1; }
	runuser -u postgres -- "$PG_BIN/pg_ctl" -D "$PG/data" -l "$PG/server.log" -w \
		-o "-c listen_addresses='' -k $PG -c max_connections=50 $*" start >/dev/null
	"$PG_BIN/createdb" -h "$PG" -U khien khien
}
