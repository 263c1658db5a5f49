#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
#
# The README's "run" command (make demo): the whole system on loopback.
# The ISP initialises its central server and provisions a device; the
# security team compiles the bundled sample lists (six formats), signs and
# publishes the policy; khiend starts with the device identity, checks in
# over mutual TLS, verifies and applies the policy; dig shows blocked and
# allowed queries with the reason (a test upstream stands in for the ISP's
# resolver); the security events arrive at the server.
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
port=$((20000 + RANDOM % 12000)) # below the ephemeral range
up=$((port + 1))

S=$work/server
sport=$((port + 2))

step "1. The ISP sets up its central server (device CA, server certificate, store)"
"$O/khien-server" init --dir "$S" --url "https://127.0.0.1:$sport"

step "2. The flashing station provisions a router's identity"
"$O/khien-server" provision --dir "$S" --device VNPT-DEMO-0001 --group hanoi -o "$work/device"
ls "$work/device"

step "3. The security team compiles its lists (six formats) into one index"
"$O/khien-policy" compile -o "$work/blocklist.idx" \
	--list malware=$L/malware.hosts --list phishing=$L/phishing.unbound \
	--list authority=$L/authority.rpz --list gambling=$L/gambling.txt \
	--list adult=$L/adult.dnsmasq --list ads=$L/ads.adblock --allow $L/allow.txt

step "4. ... signs it (here with the development key init made) and publishes it"
"$O/khien-policy" bundle --key "$S/dev-keys/policy.key" --version 1 --expires +30d \
	--component blocklist="$work/blocklist.idx" -o "$work/policy-1.bundle"
"$O/khien-server" publish --dir "$S" "$work/policy-1.bundle"

step "5. The server runs; the router's khiend starts with its identity (DNS on :$port)"
"$O/khien-server" run --dir "$S" 2>"$work/server.log" &
pids+=($!)
"$O/tests/khien-testdns" --listen 127.0.0.1:$up --cname cdn-cloak.example=malware-c2.example &
pids+=($!)
chmod -R a+rX "$work/device"
"$O/khiend" --foreground -c "$work/device/khiend.json" --listen 127.0.0.1:$port --upstream 127.0.0.1:$up \
	--state-dir "$work/state" --control "$work/khiend.sock" --user "" 2>"$work/khiend.log" &
pids+=($!)
for _ in $(seq 100); do "$O/khienctl" --control "$work/khiend.sock" status >/dev/null 2>&1 && break; sleep 0.05; done
printf '$ khienctl sync\n'
"$O/khienctl" --control "$work/khiend.sock" sync
cat "$work/khiend.log"

q() { printf '\n$ dig @127.0.0.1 -p %s %s\n' "$port" "$*"; dig +time=3 +tries=1 @127.0.0.1 -p "$port" "$@" | grep -E 'status:|EDE:|^[a-z0-9.-]+\.\s+[0-9]+\s+IN\s+(A|CNAME)\s' || true; }
step "6. Queries from the home network: blocked (with the reason) and allowed"
q www.casino-example.com
q malware-c2.example
q cdn-cloak.example
q example.org
q safe.casino-example.com

step "7. What khiend says about a name, and its status"
"$O/khienctl" --control "$work/khiend.sock" check www.casino-example.com
"$O/khienctl" --control "$work/khiend.sock" status | python3 -c 'import json,sys; d=json.load(sys.stdin); print(json.dumps({"policy": d["policy"], "report": {k: d["report"][k] for k in ("server", "last_result", "queue")}}, indent=1))'

step "8. The security events reach the ISP (khien-server events / devices)"
"$O/khienctl" --control "$work/khiend.sock" sync
"$O/khien-server" events --dir "$S"
"$O/khien-server" devices --dir "$S"
printf '\nDone: one device, one signed policy, events at the ISP. Everything ran on 127.0.0.1.\n'
