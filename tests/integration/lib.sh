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
trap 'cleanup_pids; rm -rf "$T"' EXIT
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

# init_server DIR PORT [init args...]: a new instance for https://127.0.0.1:PORT
init_server() {
	local dir=$1 port=$2
	shift 2
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
