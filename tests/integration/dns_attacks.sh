#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Attacks on khiend's DNS engine by LAN clients and a hostile or broken
# upstream, each performed against a real khiend and the scripted test
# upstream (khien-testdns) on 127.0.0.1 (issue 11):
#   - the TC->TCP fallback outliving timeout_ms (upstream TCP silent, late, closing)
. "$(dirname "$0")/lib.sh"
UP=$(rand_port); DNS=$((UP + 1))
D="dig +time=5 +tries=1 @127.0.0.1 -p $DNS"

# write_config FILE [extra dns keys as JSON members]
write_config() {
	cat > "$1" <<JSON
{
  "dns": {
    "listen": ["127.0.0.1:$DNS"],
    "upstreams": ["127.0.0.1:$UP"],
    "timeout_ms": 400${2:+,
    $2}
  },
  "user": "nobody",
  "log_level": "info"
}
JSON
}

inflight() { ctl status | json_get /dev/stdin 'd["dns"]["queries"]["inflight"]'; }
# cpu_ticks: user+system clock ticks khiend has used so far
cpu_ticks() { awk '{print $14 + $15}' "/proc/$KPID/stat"; }
sanitizer_clean() { ! grep -qE "AddressSanitizer|LeakSanitizer|runtime error:|bug:" "$T/khiend.log"; }

# khiend_sane NAME: still answers, nothing pending, not spinning, stops on SIGTERM
khiend_sane() {
	local name=$1 t0 t1 rc
	[[ "$($D +short after.example.org)" == 198.19.* ]] &&
		ok "$name: khiend still answers other queries" || fail "$name: khiend still answers"
	expect_eq "$name: nothing left in flight" "$(inflight)" "0"
	t0=$(cpu_ticks); sleep 1; t1=$(cpu_ticks)
	# A spinning daemon burns ~100 ticks a second; an idle one about none.
	[ $((t1 - t0)) -lt 50 ] && ok "$name: khiend idle, not spinning ($((t1 - t0)) ticks in 1 s)" ||
		fail "$name: khiend spins ($((t1 - t0)) ticks in 1 s)"
	kill -TERM $KPID
	for _ in $(seq 50); do kill -0 $KPID 2>/dev/null || break; sleep 0.1; done
	if kill -0 $KPID 2>/dev/null; then
		fail "$name: khiend stops on SIGTERM within 5 s"
		kill -KILL $KPID
	else
		ok "$name: khiend stops on SIGTERM"
	fi
	wait $KPID; rc=$?
	expect_eq "$name: khiend exit status" "$rc" "0"
	sanitizer_clean && ok "$name: no sanitizer report or engine bug logged" ||
		{ fail "$name: sanitizer report or bug"; grep -E -A20 "Sanitizer|runtime error|bug:" "$T/khiend.log" | head -40 | sed 's/^/#   /'; }
}

# ---- 1. TC->TCP fallback outliving timeout_ms (issue 11, High #2)
# The upstream truncates these names over UDP; over TCP it stays silent,
# answers after 1 s (timeout_ms is 400) or closes the connection.
start_upstream $UP 1 --tcp-delay 1000 || exit 1
write_config "$T/k1.json"
for mode in tcsilent tcslow tcclose; do
	start_khiend --config "$T/k1.json" || { fail "$mode: khiend starts"; continue; }
	# More fetches than upstream TCP slots (16): a leaked slot shows as a lost fallback.
	digs=()
	for i in $(seq 20); do $D +tcp +short q$i.$mode.test > /dev/null & digs+=($!); done
	wait "${digs[@]}"
	out=$($D +tcp q0.$mode.test)
	if [ $mode = tcslow ]; then
		echo "$out" | grep -q "status: SERVFAIL" && ok "$mode: TCP fetch past timeout_ms answers SERVFAIL" ||
			{ fail "$mode: SERVFAIL at the timeout"; echo "$out" | sed 's/^/#  /' | head -20; }
	else
		echo "$out" | grep -q "status: SERVFAIL" && ok "$mode: failed TCP fetch answers SERVFAIL" ||
			{ fail "$mode: SERVFAIL"; echo "$out" | sed 's/^/#  /' | head -20; }
	fi
	sleep 1.2 # the late answers (tcslow) arrive now, after their queries timed out
	n=$($D +tcp x.tc.test | grep -cP '\tIN\tA\t')
	expect_eq "$mode: the TC->TCP fallback still works afterwards (all fetch slots free)" "$n" "40"
	khiend_sane "$mode"
done

done_testing
