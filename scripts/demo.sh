#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
#
# The README's "run" command (make demo): the agent on loopback with the
# bundled sample lists. The ISP side compiles lists of every format into
# the on-device index; khiend starts with it (an embedded test upstream
# stands in for the ISP's resolver); dig shows blocked and allowed queries
# with the reason; khienctl shows the live status and the security event.
# usage: scripts/demo.sh [BUILD_DIR]
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
O=${1:-$top/build}
L=$top/tests/fixtures/lists
work=$(mktemp -d /tmp/khien-demo.XXXXXX)
chmod 755 "$work"
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; wait 2>/dev/null; rm -rf "$work"; }
trap cleanup EXIT
step() { printf '\n\033[1m== %s\033[0m\n' "$*"; }
port=$((20000 + RANDOM % 30000))
up=$((port + 1))

step "1. The ISP security team compiles its lists (six formats) into one index"
"$O/khien-policy" compile -o "$work/blocklist.idx" \
	--list malware=$L/malware.hosts --list phishing=$L/phishing.unbound \
	--list authority=$L/authority.rpz --list gambling=$L/gambling.txt \
	--list adult=$L/adult.dnsmasq --list ads=$L/ads.adblock --allow $L/allow.txt
chmod 644 "$work/blocklist.idx"

step "2. khiend starts on 127.0.0.1:$port (upstream: a local test resolver on :$up)"
"$O/tests/khien-testdns" --listen 127.0.0.1:$up --cname cdn-cloak.example=malware-c2.example &
pids+=($!)
"$O/khiend" --foreground --listen 127.0.0.1:$port --upstream 127.0.0.1:$up \
	--index "$work/blocklist.idx" --state-dir "$work/state" --control "$work/khiend.sock" \
	--user "" 2>"$work/khiend.log" &
pids+=($!)
for _ in $(seq 100); do "$O/khienctl" --control "$work/khiend.sock" status >/dev/null 2>&1 && break; sleep 0.05; done
cat "$work/khiend.log"

q() { printf '\n$ dig @127.0.0.1 -p %s %s\n' "$port" "$*"; dig +time=3 +tries=1 @127.0.0.1 -p "$port" "$@" | grep -E 'status:|EDE:|^[a-z0-9.-]+\.\s+[0-9]+\s+IN\s+(A|CNAME)\s' || true; }
step "3. Queries from a home network"
q www.casino-example.com
q malware-c2.example
q cdn-cloak.example
q example.org
q safe.casino-example.com

step "4. What khiend says about a name, its status and its security events"
"$O/khienctl" --control "$work/khiend.sock" check www.casino-example.com
"$O/khienctl" --control "$work/khiend.sock" status | head -24
"$O/khienctl" --control "$work/khiend.sock" events
printf '\nDone. Policy signing and the central server arrive with their own changes.\n'
