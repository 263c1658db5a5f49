# SPDX-License-Identifier: MIT
# Helpers for integration tests: TAP-style results that tests/run.sh counts,
# a scratch directory removed on exit, and small assertion helpers.
# Source it: . "$(dirname "$0")/lib.sh"

set -u
KHIEN_TOP=${KHIEN_TOP:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)}
KHIEN_BUILD=${KHIEN_BUILD:-$KHIEN_TOP/build}
FIX=$KHIEN_TOP/tests/fixtures
T=$(mktemp -d /tmp/khien-it.XXXXXX)
trap 'rm -rf "$T"' EXIT
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

done_testing() { exit $_failed; }
