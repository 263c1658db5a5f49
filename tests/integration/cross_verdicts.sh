#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Index and bundle formats are the same on every target (make test-cross):
# an index and a bundle made by the target's khien-policy (under qemu-user,
# big- or little-endian) are byte for byte the host's, and every lookup
# gives the same verdict on both, whichever side made the index.
. "$(dirname "$0")/lib.sh"
H=${KHIEN_HOST_BUILD:-}
PT=$KHIEN_BUILD/khien-policy.target
if [ -z "$H" ] || [ ! -x "$PT" ]; then
	skip "index and bundle formats across targets" "run by make test-cross ARCH=... (needs a target build)"
	done_testing
fi
PH=$H/khien-policy
L=$FIX/lists
echo "# target: ${KHIEN_CROSS_ARCH:-?}"

# 20,000 exact names, 2,000 wildcard rules, and queries that hit, miss and
# fall under wildcards and allow rules
python3 - "$T" <<'PY'
import random, sys
t = sys.argv[1]; r = random.Random(7)
def name(): return "%s.%s" % ("".join(r.choice("abcdefghijklmnopqrstuvwxyz0123456789-") for _ in range(r.randint(3, 14))).strip("-") or "x", r.choice(["com", "vn", "net", "com.vn", "org"]))
exact = sorted({name() for _ in range(20000)})
wild = sorted({name() for _ in range(2000)})
with open(t + "/big.hosts", "w") as f:
	for n in exact: f.write("0.0.0.0 %s\n" % n)
with open(t + "/wild.adblock", "w") as f:
	for n in wild: f.write("||%s^\n" % n)
	for n in wild[:50]: f.write("@@||ok.%s^\n" % n)
q = [r.choice(exact) for _ in range(3000)] + ["sub%d.%s" % (i, r.choice(wild)) for i in range(2000)]
q += ["ok.%s" % n for n in wild[:50]] + [name() for _ in range(3000)] + ["MiXeD.%s" % exact[0].upper()]
with open(t + "/names", "w") as f: f.write("\n".join(q) + "\n")
PY
lists=(--seed 0123456789abcdef0fedcba987654321 --list malware="$T/big.hosts" --list ads="$T/wild.adblock" --list phishing="$L/phishing.unbound"
	--list authority="$L/authority.rpz" --allow "$L/allow.txt")
export SOURCE_DATE_EPOCH=1764547200 # the index records its compile time
check "host compiles the index" "$PH" compile -q -o "$T/idx.host" "${lists[@]}"
check "target compiles the index" "$PT" compile -q -o "$T/idx.target" "${lists[@]}"
check "the target's index is byte for byte the host's" cmp "$T/idx.host" "$T/idx.target"

mapfile -t names <"$T/names"
for who in host target; do
	P=$PH
	[ $who = target ] && P=$PT
	for idx in host target; do
		"$P" lookup "$T/idx.$idx" "${names[@]}" >"$T/v.$who.$idx" 2>&1
	done
done
n=$(wc -l <"$T/v.host.host")
b=$(grep -c ' blocked ' "$T/v.host.host")
a=$(grep -c ' allowed' "$T/v.host.host")
echo "# ${#names[@]} lookups: $b blocked, $a allowed"
check "host verdicts cover every name, blocked and allowed" test "$n" -eq "${#names[@]}" -a "$b" -gt 5000 -a "$a" -gt 3000
for v in host.target target.host target.target; do
	check "verdicts: $v are the host's on its own index" cmp "$T/v.host.host" "$T/v.$v"
done

# bundles: signatures are deterministic (RFC 6979), so the same inputs give the same bytes
"$PH" keygen -o "$T/k" >/dev/null &&
	"$PH" root init --key "$T/k.pub" --policy-key "$T/k.pub" --expires +30d -o "$T/root.json" >/dev/null &&
	"$PH" root sign --key "$T/k.key" "$T/root.json" >/dev/null || fail "keys and root"
for who in host target; do
	P=$PH
	[ $who = target ] && P=$PT
	"$P" bundle --key "$T/k.key" --version 3 --created 2026-12-01T00:00:00Z --expires 2027-01-01 \
		--component blocklist="$T/idx.host" -o "$T/b.$who" >/dev/null 2>"$T/b.$who.err" ||
		{ fail "$who signs a bundle"; cat "$T/b.$who.err"; }
done
check "the target's bundle is byte for byte the host's" cmp "$T/b.host" "$T/b.target"
check "the target verifies the host's bundle" "$PT" verify --root "$T/root.json" "$T/b.host"
check "the host verifies the target's bundle" "$PH" verify --root "$T/root.json" "$T/b.target"
done_testing
