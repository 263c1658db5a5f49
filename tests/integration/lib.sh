# SPDX-License-Identifier: MIT
# Helpers for integration tests: TAP-style results that tests/run.sh counts,
# a scratch directory removed on exit, and small assertion helpers.
# Source it: . "$(dirname "$0")/lib.sh"

set -u
KHIEN_TOP=${KHIEN_TOP:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)}
KHIEN_BUILD=${KHIEN_BUILD:-$KHIEN_TOP/build}
FIX=$KHIEN_TOP/tests/fixtures
T=$(mktemp -d /tmp/khien-it.XXXXXX)

_failed=0

ok() { echo "ok - $*"; }
fail() { echo "not ok - $*"; _failed=1; }
skip() { echo "ok - $1 # SKIP $2"; }

# check NAME COMMAND...: ok if the command succeeds.
check() {
	local name=$1
	shift
	if "$@"; then ok "$name"; else fail "$name"; fi
}

# expect_eq NAME GOT WANT
expect_eq() {
	if [ "$2" == "$3" ]; then ok "$1"; else
		fail "$1"
		printf '#   got:  %s\n#   want: %s\n' "$2" "$3" | head -40
	fi
}

# expect_rc NAME WANT_RC COMMAND...
expect_rc() {
	local name=$1 want=$2 rc
	shift 2
	"$@" >"$T/out" 2>"$T/err"
	rc=$?
	if [ "$rc" -eq "$want" ]; then ok "$name"; else
		fail "$name (exit $rc, want $want)"
		sed 's/^/#   /' "$T/err" | head -20
	fi
}

json_get() { # FILE EXPR: print a value from a JSON file with python
	/usr/bin/python3 -c "import json,sys; d=json.load(open(sys.argv[1])); print($2)" "$1"
}

py() { # EXPR: print a Python expression (json imported)
	/usr/bin/python3 -c "import json,sys; print($1)"
}

done_testing() { exit $_failed; }

# ---- DNS helpers (khiend + test upstream on 127.0.0.1, random ports) ----
PIDS=()
cleanup_pids() { for p in "${PIDS[@]:-}"; do [ -n "$p" ] && kill "$p" 2>/dev/null; done; wait 2>/dev/null; }
# KHIEN_KEEP_LOG=FILE: keep the last khiend's log there (to look at an intermittent failure)
trap 'cleanup_pids; pg_stop; [ -n "${KHIEN_KEEP_LOG:-}" ] && cp "$T/khiend.log" "$KHIEN_KEEP_LOG"; rm -rf "$T"' EXIT
chmod 755 "$T" # khiend drops to its user and must still read the index

# The daemon's dedicated user (the OpenWrt package creates it; tests as root do).
if [ "$(id -u)" -eq 0 ] && ! id khien >/dev/null 2>&1; then
	useradd --system --no-create-home --shell /usr/sbin/nologin khien 2>/dev/null ||
		id khien >/dev/null 2>&1 || echo "# cannot create the khien user"
fi

# engine_pid: the pid of khiend's engine (the child that serves), from its status
engine_pid() { ctl status | py 'json.load(sys.stdin)["pid"]'; }

# as_user USER CMD...: run a command as USER (the attacker in privilege tests)
as_user() { local u=$1; shift; setpriv --reuid="$u" --regid="$(id -g "$u")" --clear-groups -- "$@"; }

rand_port() { echo $((20000 + RANDOM % 12000)); } # below the ephemeral range (32768+)

# start_upstream PORT ID [args...]: the scripted test upstream
start_upstream() {
	local port=$1 id=$2
	shift 2
	"$KHIEN_BUILD/tests/khien-testdns" --listen 127.0.0.1:$port --id $id "$@" >"$T/up$id.log" 2>&1 &
	PIDS+=($!)
	UP_PID=$!
	for _ in $(seq 50); do dig +time=1 +tries=1 @127.0.0.1 -p $port ready.test >/dev/null 2>&1 && return 0; sleep 0.05; done
	echo "# upstream on $port did not start"; cat "$T/up$id.log"; return 1
}

# start_khiend ARGS...: runs khiend in the foreground (background job), waits for its control socket
start_khiend() {
	CTL=$T/ctl.sock
	"$KHIEN_BUILD/khiend" -f --control "$CTL" --state-dir "$T/state" "$@" >"$T/khiend.log" 2>&1 &
	KPID=$!
	PIDS+=($KPID)
	for _ in $(seq 100); do
		"$KHIEN_BUILD/khienctl" --control "$CTL" status >/dev/null 2>&1 && return 0
		kill -0 $KPID 2>/dev/null || break
		sleep 0.05
	done
	echo "# khiend did not start:"; sed 's/^/#   /' "$T/khiend.log"; return 1
}

stop_khiend() { kill $KPID 2>/dev/null; wait $KPID 2>/dev/null; }
ctl() { "$KHIEN_BUILD/khienctl" --control "$CTL" "$@"; }

# ---- central server helpers (khien-server on 127.0.0.1, random port) ----
SRV=$KHIEN_BUILD/khien-server
HTTPS=$KHIEN_BUILD/tests/khien-testhttps

# The store under test: SQLite in the instance (default), or with
# KHIEN_TEST_DB=pg a database of its own in a throwaway PostgreSQL cluster
# (tests/integration/server_pg.sh runs the store-checking scripts so).
KHIEN_TEST_DB=${KHIEN_TEST_DB:-sqlite}
PG_BIN=${PG_BIN:-/usr/lib/postgresql/15/bin}
PG_DIR=${PG_DIR:-}  # set: a cluster someone else started (and stops)
_pg_mine=""
_pg_dbs=0

# pg_start: a cluster in a temporary directory, run by the unprivileged
# postgres user, listening only on a Unix socket there; sets PG_DIR
pg_start() {
	[ -n "$PG_DIR" ] && return 0
	PG_DIR=$(mktemp -d /tmp/khien-pg.XXXXXX)
	_pg_mine=1
	chown postgres: "$PG_DIR" && chmod 755 "$PG_DIR"
	runuser -u postgres -- "$PG_BIN/initdb" -D "$PG_DIR/data" -U khien --auth=trust \
		-E UTF8 --locale=C >"$PG_DIR/initdb.log" 2>&1 ||
		{ echo "# initdb failed:"; sed 's/^/#   /' "$PG_DIR/initdb.log"; return 1; }
	# fsync off: a test cluster lives for seconds; the bench keeps it on
	runuser -u postgres -- "$PG_BIN/pg_ctl" -D "$PG_DIR/data" -l "$PG_DIR/server.log" -w \
		-o "-c listen_addresses='' -k $PG_DIR -c fsync=${PG_FSYNC:-off} -c max_connections=200" \
		start >/dev/null 2>&1 ||
		{ echo "# PostgreSQL did not start:"; sed 's/^/#   /' "$PG_DIR/server.log" | tail; return 1; }
}
pg_stop() {
	[ -n "$_pg_mine" ] || return 0
	runuser -u postgres -- "$PG_BIN/pg_ctl" -D "$PG_DIR/data" -m immediate stop >/dev/null 2>&1
	rm -rf "$PG_DIR"
	_pg_mine=""
}
# pg_newdb: a new empty database in the cluster; prints its URL
pg_newdb() {
	local name
	_pg_dbs=$((_pg_dbs + 1))
	name=t$$_${_pg_dbs}_$RANDOM
	"$PG_BIN/createdb" -h "$PG_DIR" -U khien "$name" || return 1
	echo "postgresql://khien@/$name?host=$PG_DIR"
}

# store_sql DIR SQL: one statement on the instance's store, rows as a|b lines
store_sql() {
	local db
	db=$(json_get "$1/server.json" 'd.get("database", "")')
	if [ -n "$db" ]; then
		"$PG_BIN/psql" -X -q -At -v ON_ERROR_STOP=1 "$db" -c "$2"
	else
		/usr/bin/python3 -c "import sqlite3,sys; c=sqlite3.connect(sys.argv[1], timeout=10); r=c.execute(sys.argv[2]).fetchall(); c.commit(); print('\n'.join('|'.join(map(str, x)) for x in r)) if r else None" "$1/khien.db" "$2"
	fi
}

# store_version DIR: the schema version the store records
store_version() {
	if [ -n "$(json_get "$1/server.json" 'd.get("database", "")')" ]; then
		store_sql "$1" "SELECT max(version) FROM khien_schema"
	else
		store_sql "$1" "PRAGMA user_version"
	fi
}

# store_detach DIR: a copied instance gets a new empty store of its own
store_detach() {
	rm -f "$1"/khien.db*
	[ -n "$(json_get "$1/server.json" 'd.get("database", "")')" ] || return 0
	/usr/bin/python3 -c "import json,sys; p=sys.argv[1]; d=json.load(open(p)); d['database']=sys.argv[2]; json.dump(d, open(p, 'w'))" "$1/server.json" "$(pg_newdb)"
}

# init_server DIR PORT [init args...]: a new instance for https://127.0.0.1:PORT
init_server() {
	local dir=$1 port=$2 db
	shift 2
	if [ "$KHIEN_TEST_DB" = pg ]; then
		pg_start && db=$(pg_newdb) || return 1
		set -- --database "$db" "$@"
	fi
	"$SRV" init --dir "$dir" --url "https://127.0.0.1:$port" "$@" >"$T/init.log" 2>&1 ||
		{ echo "# khien-server init failed:"; sed 's/^/#   /' "$T/init.log"; return 1; }
}

# start_server DIR: run it in the background until it answers TLS; sets SPID
start_server() {
	local dir=$1 port
	port=$(json_get "$dir/server.json" 'd["url"].rsplit(":",1)[1]')
	"$SRV" run --dir "$dir" --log-level info >>"$T/server.log" 2>&1 &
	SPID=$!
	PIDS+=($SPID)
	for _ in $(seq 100); do
		"$HTTPS" --connect 127.0.0.1:$port --host 127.0.0.1 --ca "$dir/server-ca.pem" \
			GET /v1/checkin >/dev/null 2>&1 && return 0
		kill -0 $SPID 2>/dev/null || break
		sleep 0.05
	done
	echo "# khien-server did not start:"; sed 's/^/#   /' "$T/server.log" | tail -20; return 1
}
stop_server() { kill $SPID 2>/dev/null; wait $SPID 2>/dev/null; }

# operator DIR METHOD PATH [testhttps args...]: the operator API with the instance's token
operator() {
	local dir=$1 m=$2 p=$3 port
	shift 3
	port=$(json_get "$dir/server.json" 'd["url"].rsplit(":",1)[1]')
	"$HTTPS" --connect 127.0.0.1:$port --host 127.0.0.1 --ca "$dir/server-ca.pem" \
		--header "Authorization: Bearer $(cat "$dir/operator.token")" "$@" "$m" "$p"
}

# as_device DIR DEVDIR METHOD PATH [args...]: a request with a device's identity
as_device() {
	local dir=$1 dev=$2 m=$3 p=$4 port
	shift 4
	port=$(json_get "$dir/server.json" 'd["url"].rsplit(":",1)[1]')
	"$HTTPS" --connect 127.0.0.1:$port --host 127.0.0.1 --ca "$dev/server-ca.pem" \
		--cert "$dev/device.pem" --key "$dev/device.key" "$@" "$m" "$p"
}
