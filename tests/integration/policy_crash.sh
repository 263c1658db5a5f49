#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Crash consistency of policy apply: khiend is killed with SIGKILL at a
# random moment while it applies bundle k+1 (a 2 MB blocklist, so the kill
# lands before, during or after staging and commit), then restarted.
# Invariant after every trial: the device runs version k or k+1, never
# anything else, and the blocklist it enforces is exactly that version's
# (odd versions block only-odd.example, even ones only-even.example).
. "$(dirname "$0")/lib.sh"
P=$KHIEN_BUILD/khien-policy
TRIALS=${KHIEN_CRASH_TRIALS:-200}
K=$T/keys; mkdir -p "$K"
for k in root pol; do "$P" keygen -o "$K/$k" >/dev/null; done
"$P" root init --threshold 1 --key $K/root.pub --policy-key $K/pol.pub --expires +365d -o $T/root.json >/dev/null
"$P" root sign --key $K/root.key $T/root.json >/dev/null
for i in $(seq 1 150000); do echo "bulk$i.crash-test.example"; done > $T/bulk.txt
echo only-odd.example > $T/odd.txt; echo only-even.example > $T/even.txt
"$P" compile -q -o $T/idx-odd --list malware=$T/bulk.txt --list malware=$T/odd.txt >/dev/null 2>&1
"$P" compile -q -o $T/idx-even --list malware=$T/bulk.txt --list malware=$T/even.txt >/dev/null 2>&1
chmod 644 $T/*
UP=$(rand_port); DNS=$((UP + 1))
start_upstream $UP 1 || exit 1
status_of() { dig +time=2 +tries=1 @127.0.0.1 -p $DNS "$1" | grep -o 'status: [A-Z]*' | cut -d' ' -f2; }
enforced() { # which index is live: odd, even, none or mixed
	local o e
	o=$(status_of only-odd.example); e=$(status_of only-even.example)
	case "$o/$e" in NXDOMAIN/NOERROR) echo odd ;; NOERROR/NXDOMAIN) echo even ;; NOERROR/NOERROR) echo none ;; *) echo "mixed($o/$e)" ;; esac
}
start() { start_khiend --listen 127.0.0.1:$DNS --upstream 127.0.0.1:$UP --trust-root $T/root.json --user nobody >/dev/null; }
start || { fail "khiend starts"; done_testing; }
# calibrate: the kill lands at a random moment within 1.2 times one apply (a sanitizer
# build applies several times slower than a plain one)
"$P" bundle --key $K/pol.key --version 1 --expires +30d --component blocklist=$T/idx-odd -o $T/b.1 >/dev/null
chmod 644 $T/b.1
t0=$(date +%s%N); ctl policy apply $T/b.1 >/dev/null || fail "calibration apply"; t1=$(date +%s%N)
span=$(((t1 - t0) / 1000000 * 6 / 5)); [ $span -lt 50 ] && span=50
echo "# one apply took $(((t1 - t0) / 1000000)) ms; kills within ${span} ms"
k=1 bad=0 before=0 after=0
for trial in $(seq 1 $TRIALS); do
	next=$((k + 1))
	[ $((next % 2)) -eq 1 ] && idx=$T/idx-odd || idx=$T/idx-even
	"$P" bundle --key $K/pol.key --version $next --expires +30d --component blocklist=$idx -o $T/b.$next >/dev/null
	chmod 644 $T/b.$next
	ctl policy apply $T/b.$next >/dev/null 2>&1 &
	applier=$!
	sleep "$(awk -v s=$span -v r=$RANDOM 'BEGIN { printf "%.3f", (r % 1000) * s / 1e6 }')"
	kill -9 $KPID 2>/dev/null; wait $KPID 2>/dev/null; wait $applier 2>/dev/null
	rm -f $T/b.$((k - 1))
	start || { bad=$((bad + 1)); echo "# trial $trial: khiend did not restart"; break; }
	v=$(ctl status | json_get /dev/stdin 'd["policy"]["version"]')
	e=$(enforced)
	want=none; [ "$v" -gt 0 ] && { [ $((v % 2)) -eq 1 ] && want=odd || want=even; }
	if { [ "$v" != "$k" ] && [ "$v" != "$next" ]; } || [ "$e" != "$want" ]; then
		bad=$((bad + 1))
		echo "# trial $trial: version $v (expected $k or $next), enforcing $e (expected $want)"
	fi
	[ "$v" = "$k" ] && before=$((before + 1)) || after=$((after + 1))
	k=$v
done
stop_khiend
echo "# $TRIALS trials: killed before the commit $before times, after it $after times"
expect_eq "every trial left the old or the new policy, whole" "$bad" "0"
[ $before -gt 0 ] && [ $after -gt 0 ] && ok "kills landed on both sides of the commit" ||
	fail "kills landed on both sides of the commit (before $before, after $after)"
done_testing
