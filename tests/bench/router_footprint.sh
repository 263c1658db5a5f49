#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# The router's footprint (issue 15, docs/PERFORMANCE.md):
#  - size: the stripped khiend that `make ipk` ships, per architecture, and
#    on mipsel what each optional module (KHIEN_OFF) costs;
#  - memory: the x86_64 package's khiend (the router profile, built for this
#    host by `make ipk ARCH=x86_64`) as a router runs it (root parent, engine as user khien,
#    two auditor processes, web pages on) with a ~300,000-domain index of
#    the real lists in ../shared/data, after dnsperf has queried 150,000
#    names (blocked and allowed, so the index and cache are touched): RSS
#    and PSS of each process (PSS counts shared pages once).
# usage: tests/bench/router_footprint.sh BUILD_DIR [size|rss]
set -euo pipefail
top=$(cd "$(dirname "$0")/../.." && pwd)
O=$(cd "${1:?usage: router_footprint.sh BUILD_DIR [size|rss]}" && pwd)
only=${2:-}
say() { printf '[bench] %s\n' "$*" >&2; }
cd "$top"

if [ "$only" != rss ]; then
	scripts/deps.sh cross mipsel armhf arm64 >/dev/null
	ipk() { # ARCH TRIPLET [MODULES OFF] -> bytes of the stripped khiend
		make -s ipk ARCH="$1" KHIEN_OFF="${3:-}" >/dev/null
		stat -c %s "build/ipk/$2/stripped/khiend"
	}
	for a in mipsel_24kc:mipsel-linux-gnu arm_cortex-a7_neon-vfpv4:arm-linux-gnueabihf \
		 aarch64_cortex-a53:aarch64-linux-gnu; do
		say "size: ${a%%:*}, every module: $(ipk "${a%%:*}" "${a#*:}") bytes"
	done
	all=$(ipk mipsel_24kc mipsel-linux-gnu)
	for m in AUDIT INTEGRITY FIRMWARE WEB; do
		s=$(ipk mipsel_24kc mipsel-linux-gnu "$m")
		say "size: mipsel_24kc without CONFIG_$m: $s bytes (the module costs $((all - s)))"
	done
	say "size: mipsel_24kc, DNS filter + signed policy + reporting only:" \
		"$(ipk mipsel_24kc mipsel-linux-gnu "AUDIT INTEGRITY FIRMWARE WEB") bytes"
	make -s ipk ARCH=mipsel_24kc >/dev/null # leave the full package behind
fi
[ "$only" = size ] && exit 0

[ "$(id -u)" -eq 0 ] || { say "rss: needs root (the router's process layout)"; exit 0; }
shared=$top/../shared/data/blocklists
[ -d "$shared" ] || { say "rss: no ../shared/data: skipped"; exit 0; }
make -s ipk ARCH=x86_64 >/dev/null 2>&1
R=$top/build/ipk/x86_64-linux-gnu/stripped
W=$(mktemp -d /tmp/khien-rss.XXXXXX)
chmod 755 "$W"
trap 'kill $(jobs -p) 2>/dev/null; wait 2>/dev/null; rm -rf "$W"' EXIT
id khien >/dev/null 2>&1 || useradd --system --no-create-home --shell /usr/sbin/nologin khien
"$O/khien-policy" compile -q --json -o "$W/idx" --list gambling="$shared/hostsvn-gambling.txt" \
	--list adult="$shared/hostsvn-adult.txt" --list malware="$shared/hostsvn-threat.txt" \
	--list ads="$shared/stevenblack.domains.txt" --list ads="$shared/adguarddns.domains.txt" \
	>"$W/compile.json" 2>/dev/null
chmod 644 "$W/idx"
n=$(python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); print(d.get("entries", d.get("domains", "?")))' "$W/compile.json")
say "rss: index of $n names, $(stat -c %s "$W/idx") bytes"
UP=15600
"$O/tests/khien-testdns" --listen 127.0.0.1:$UP --id 7 2>/dev/null &
cat "$shared/hostsvn-gambling.txt" "$shared/stevenblack.domains.txt" |
	awk '!/^#/ && NF && n++ < 100000 {print $1" A"}' >"$W/q.txt"
awk 'NF {print $1" A"}' "$top/../shared/data/traffic/top-domains-50k.txt" >>"$W/q.txt"
# memory of one pid: all of it, or (qemu-user) only the guest's, which a 32-bit
# guest keeps below 4 GiB of the emulator's address space
mem() { # PID GUEST(0|1) -> "RSS PSS" in KB
	awk -v g="$2" '/^[0-9a-f]+-[0-9a-f]+ / {split($1, a, "-"); in_g = length(a[1]) <= 8}
		/^Rss:/ && (!g || in_g) {r += $2} /^Pss:/ && (!g || in_g) {p += $2}
		END {print r + 0, p + 0}' "/proc/$1/smaps"
}
run() { # NAME DIR(khiend, khienctl) GUEST PORT
	local name=$1 R=$2 g=$3 KH=$4 tot_r=0 tot_p=0 r p u
	cat >"$W/$name.json" <<JS
{"dns": {"listen": ["127.0.0.1:$KH"], "upstreams": ["127.0.0.1:$UP"], "index": "$W/idx"},
 "web": {"listen": ["127.0.0.1:$((KH + 1))"]}, "user": "khien", "log_level": "warn"}
JS
	"$R/khiend" -f --config "$W/$name.json" --control "$W/$name.sock" --state-dir "$W/st-$name" \
		2>"$W/$name.log" &
	for _ in $(seq 300); do "$R/khienctl" --control "$W/$name.sock" status >/dev/null 2>&1 && break; sleep 0.1; done
	dnsperf -s 127.0.0.1 -p "$KH" -d "$W/q.txt" -n 1 -c 4 -q 200 -t 5 >/dev/null 2>&1 || true
	for pid in $(pgrep -f "config $W/$name.json" || true); do
		read -r r p <<<"$(mem "$pid" "$g")"
		u=$(stat -c %U "/proc/$pid")
		say "rss: $name: pid $pid (user $u): RSS $r KB, PSS $p KB"
		tot_r=$((tot_r + r)) tot_p=$((tot_p + p))
	done
	say "rss: $name: all khiend processes: RSS $tot_r KB (shared pages counted in each), PSS $tot_p KB"
	[ -z "${KHIEN_RSS_DETAIL:-}" ] || for pid in $(pgrep -f "config $W/$name.json" || true); do
		echo "== $pid"; grep -E '^(Rss|Pss|Shared_Clean|Private_Dirty|Anonymous)' "/proc/$pid/smaps_rollup"
	done
	pkill -f "config $W/$name.json" || true
	sleep 0.5
}
run x86_64 "$R" 0 15610
say "rss: answer cache $(grep -m1 '^CONFIG_DNS_CACHE_ENTRIES=' "$top/build/ipk/x86_64-linux-gnu/.config") entries"
if command -v mipsel-linux-gnu-gcc >/dev/null && [ -e /proc/sys/fs/binfmt_misc/qemu-mipsel ]; then
	make -s ipk ARCH=mipsel_24kc >/dev/null 2>&1
	run mipsel-qemu "$top/build/ipk/mipsel-linux-gnu/stripped" 1 15620
else
	say "rss: mipsel under qemu-user skipped (scripts/deps.sh cross mipsel)"
fi
