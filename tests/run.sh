#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
#
# The test runner behind `make test`. Runs every unit test binary, replays
# every fuzz corpus, then runs every integration script; each prints
# TAP-style "ok - ..." / "not ok - ..." lines. A program that exits non-zero
# without reporting a failure (a crash, a sanitizer report) counts as one
# failure. Ends with exactly one line: "N passed, N failed, N skipped".
# usage: tests/run.sh BUILD_DIR [FILTER]
set -uo pipefail

O=${1:?usage: tests/run.sh BUILD_DIR [FILTER]}
filter=${2:-}
top=$(cd "$(dirname "$0")/.." && pwd)
O=$(cd "$O" && pwd)
export KHIEN_BUILD=$O KHIEN_TOP=$top
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=0}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
log=$(mktemp -d /tmp/khien-tests.XXXXXX)
trap 'rm -rf "$log"' EXIT

pass=0 fail=0 skip=0
failed_names=()

run_one() { # name, command...
	local name=$1 out rc p f s
	shift
	[ -n "$filter" ] && [[ "$name" != *"$filter"* ]] && return
	out="$log/$(echo "$name" | tr '/ ' '__').out"
	printf '%-40s ' "$name"
	timeout 600 "$@" >"$out" 2>&1
	rc=$?
	p=$(grep -c '^ok ' "$out" | head -1)
	s=$(grep -c '^ok .*# SKIP' "$out" | head -1)
	f=$(grep -c '^not ok ' "$out" | head -1)
	p=$((p - s))
	if [ "$rc" -ne 0 ] && [ "$f" -eq 0 ]; then
		f=1
		echo "not ok - $name exited with status $rc" >>"$out"
	fi
	pass=$((pass + p)) fail=$((fail + f)) skip=$((skip + s))
	if [ "$f" -gt 0 ]; then
		echo "FAIL ($p passed, $f failed)"
		failed_names+=("$name")
		# the failures first, with the lines they print: the tail alone can miss an early one
		grep -A8 '^not ok ' "$out" | head -n 80 | sed 's/^/    ! /'
		sed 's/^/    | /' "$out" | tail -n 60
	else
		if [ "$s" -gt 0 ]; then echo "ok ($p passed, $s skipped)"; else echo "ok ($p passed)"; fi
		grep '# SKIP' "$out" | sed 's/^/    | /'
	fi
}

echo "== unit tests ($O/tests)"
for t in "$O"/tests/test_*; do
	[ -x "$t" ] && run_one "unit/$(basename "$t")" "$t"
done

echo "== fuzz corpora replayed as regression tests"
for r in "$O"/fuzz/*-replay; do
	[ -x "$r" ] || continue
	name=$(basename "$r" -replay)
	run_one "fuzz/$name" "$r" "$top/tests/fuzz/$name/corpus"
done

echo "== integration tests"
# KHIEN_INTEGRATION="a b": only those scripts (make test-cross runs the
# DNS-filter and policy ones with a target's binaries)
for s in "$top"/tests/integration/*.sh; do
	n=$(basename "$s" .sh)
	if [ -n "${KHIEN_INTEGRATION:-}" ] && [[ " $KHIEN_INTEGRATION " != *" $n "* ]]; then
		continue
	fi
	[ -x "$s" ] && run_one "integration/$n" "$s"
done

if [ ${#failed_names[@]} -gt 0 ]; then
	echo "failed: ${failed_names[*]}"
fi
echo "$pass passed, $fail failed, $skip skipped"
[ "$fail" -eq 0 ]
