#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
#
# The README's "run" command (make demo): a local demonstration with the
# bundled sample lists. Today it shows the ISP side and the device side of
# DNS enforcement that exist: compile lists of every format into the
# on-device index, inspect it, and ask it for verdicts with explanations.
# usage: scripts/demo.sh [BUILD_DIR]
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
O=${1:-$top/build}
P=$O/khien-policy
L=$top/tests/fixtures/lists
work=$(mktemp -d /tmp/khien-demo.XXXXXX)
trap 'rm -rf "$work"' EXIT

step() { printf '\n\033[1m== %s\033[0m\n' "$*"; }

step "1. The ISP security team compiles its lists (six formats) into one index"
"$P" compile -o "$work/blocklist.idx" \
	--list malware=$L/malware.hosts --list phishing=$L/phishing.unbound \
	--list authority=$L/authority.rpz --list gambling=$L/gambling.txt \
	--list adult=$L/adult.dnsmasq --list ads=$L/ads.adblock --allow $L/allow.txt

step "2. The index the device maps (statistics as JSON)"
"$P" stats "$work/blocklist.idx"

step "3. Verdicts the device gives, with the rule that decided"
"$P" lookup "$work/blocklist.idx" www.casino-example.com safe.casino-example.com \
	malware-c2.example x.banned-site.example x.exact-only.example \
	xn--c-cc-5na85j946j.vn good.ads.example example.org

if [ -d "$top/../shared/data/blocklists" ]; then
	S=$top/../shared/data/blocklists
	step "4. The same with real public lists (../shared/data)"
	"$P" compile -q -o "$work/real.idx" --list malware=$S/hostsvn-threat.hosts \
		--list phishing=$S/hagezi-fake.unbound.conf --list gambling=$S/hostsvn-gambling.txt \
		--list adult=$S/hostsvn-adult.txt --list ads=$S/stevenblack.adblock.txt \
		--list ads=$S/adguarddns.domains.txt --max-report 0
fi
printf '\nDone. The DNS filter daemon (khiend) arrives with its own change.\n'
