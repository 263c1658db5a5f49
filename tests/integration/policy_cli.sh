#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# khien-policy as a user runs it: compile every sample format, look names up,
# read stats, and the failure paths (bad lists, bad index, usage errors).
. "$(dirname "$0")/lib.sh"
P=$KHIEN_BUILD/khien-policy
L=$FIX/lists
SEED=000102030405060708090a0b0c0d0e0f
compile_all() { # OUT [options]
	local out=$1
	shift
	SOURCE_DATE_EPOCH=1795000000 "$P" compile "$@" --seed $SEED -o "$out" \
		--list gambling=$L/gambling.txt --list malware=$L/malware.hosts \
		--list ads=$L/ads.adblock --list phishing=$L/phishing.unbound \
		--list authority=$L/authority.rpz --list adult=$L/adult.dnsmasq \
		--allow $L/allow.txt
}

expect_rc "compile all sample formats" 0 compile_all "$T/idx"
cp "$T/out" "$T/summary"
grep -q "^wrote $T/idx: 17 domains" "$T/summary" && ok "summary counts domains" || {
	fail "summary counts domains"; sed 's/^/#   /' "$T/summary"; }
grep -q "lines rejected: 1; rules skipped as unsupported: 1" "$T/summary" &&
	ok "summary counts rejected and unsupported" || fail "summary counts rejected and unsupported"
grep -q "^gambling.txt:5: empty label: bad..entry$" "$T/err" &&
	ok "rejected line reported as FILE:LINE: reason" || { fail "rejected line reported"; cat "$T/err"; }
grep -q "^ads.adblock:4: skipped: modifier '\$third-party' not supported" "$T/err" &&
	ok "unsupported modifier reported" || fail "unsupported modifier reported"

out=$("$P" lookup "$T/idx" casino-example.com www.casino-example.com safe.casino-example.com \
	Lucky-Spin.Example malware-c2.example payload.example localhost x.ads.example \
	good.ads.example tracker.example login-bank-example.com banned-site.example \
	a.banned-site.example exact-only.example x.exact-only.example subs-only.example \
	x.subs-only.example xn--c-cc-5na85j946j.vn xxx-sample.net example.org 198.18.0.9 bad..name)
expect_eq "lookup verdicts" "$out" "casino-example.com blocked gambling casino-example.com
www.casino-example.com blocked gambling *.casino-example.com
safe.casino-example.com allowed
Lucky-Spin.Example blocked gambling lucky-spin.example
malware-c2.example blocked malware malware-c2.example
payload.example blocked malware payload.example
localhost allowed
x.ads.example blocked ads *.ads.example
good.ads.example allowed
tracker.example allowed
login-bank-example.com blocked phishing login-bank-example.com
banned-site.example blocked authority banned-site.example
a.banned-site.example blocked authority *.banned-site.example
exact-only.example blocked authority exact-only.example
x.exact-only.example allowed
subs-only.example allowed
x.subs-only.example blocked authority *.subs-only.example
xn--c-cc-5na85j946j.vn blocked gambling xn--c-cc-5na85j946j.vn
xxx-sample.net blocked adult xxx-sample.net
example.org allowed
198.18.0.9 blocked authority 198.18.0.9/24
bad..name invalid empty label"

"$P" lookup --json "$T/idx" www.casino-example.com > "$T/j"
expect_eq "lookup --json explains the rule" \
	"$(json_get "$T/j" '(d["verdict"], d["category"], d["rule"], d["source"], d["scope"])')" \
	"('blocked', 'gambling', '*.casino-example.com', 'gambling.txt', 'self+subdomains')"

"$P" stats "$T/idx" > "$T/stats"
expect_eq "stats JSON" \
	"$(json_get "$T/stats" '(d["format_version"], d["entries"], d["categories"]["gambling"], d["categories"]["authority"], d["allow_entries"], d["ip_triggers"], len(d["build_id"]))')" \
	"(1, 17, 4, 3, 2, 1, 32)"

# -q: no progress and no summary, only the problem lines (#23)
expect_rc "compile -q" 0 compile_all "$T/idx2" -q
expect_eq "compile -q prints no summary" "$(cat "$T/out")" ""
expect_eq "compile -q prints only the problem lines" "$(cut -d: -f1,2 "$T/err")" "gambling.txt:5
ads.adblock:4"
check "same inputs and seed give identical indexes" cmp -s "$T/idx" "$T/idx2"
# lookup takes the UTF-8 names compile takes, normalised the same way (#23)
out=$("$P" lookup "$T/idx" 'cá-cược.vn' 'WWW.CÁ-CƯỢC.VN.' 'a!b.example' "$(printf 'bad\xff.vn')" 1.2.3)
expect_eq "lookup: UTF-8 names as compile normalises them; invalid names say why" "$out" "cá-cược.vn blocked gambling xn--c-cc-5na85j946j.vn
WWW.CÁ-CƯỢC.VN. blocked gambling *.xn--c-cc-5na85j946j.vn
a!b.example invalid bad character '!' in name
$(printf 'bad\xff.vn') invalid invalid UTF-8
1.2.3 invalid numeric top-level label (an IP address, not a domain name)"
"$P" lookup --json "$T/idx" 'bad..name' > "$T/j"
expect_eq "lookup --json gives the reason" "$(json_get "$T/j" '(d["verdict"], d["reason"])')" "('invalid', 'empty label')"

printf 'bad..one\n-- not a domain --\n' > "$T/allbad.txt"
echo "keep me" > "$T/existing"
expect_rc "wholly invalid list is an error" 1 "$P" compile -q -o "$T/existing" --list x=$T/allbad.txt
expect_eq "previous output kept after a failed compile" "$(cat "$T/existing")" "keep me"
: > "$T/empty.txt"
expect_rc "empty list is an error" 1 "$P" compile -q -o "$T/o" --list x=$T/empty.txt
expect_rc "unreadable list is an error" 1 "$P" compile -q -o "$T/o" --list x=$T/missing.txt
grep -q "cannot read $T/missing.txt: No such file or directory" "$T/err" &&
	ok "unreadable list names the errno text" || fail "unreadable list names the errno text"
expect_rc "bad --list syntax is a usage error" 2 "$P" compile -o "$T/o" --list nocategory
# usage errors name what is wrong (#23)
usage_error() { # NAME MESSAGE COMMAND...
	local name=$1 msg=$2
	shift 2
	expect_rc "$name" 2 "$@"
	grep -qF -- "$msg" "$T/err" && ok "... says: $msg" || { fail "... says: $msg"; cat "$T/err"; }
}
usage_error "compile without -o" "khien-policy: compile needs -o OUT" "$P" compile --list x=$L/gambling.txt
usage_error "compile without a list" "compile needs at least one --list CATEGORY=FILE or --allow FILE" "$P" compile -o "$T/o"
usage_error "compile with a stray argument" "compile: unexpected argument 'stray'" "$P" compile -o "$T/o" --list x=$L/gambling.txt stray
usage_error "--max-report not a number" "--max-report: expected a whole number from 0 to" "$P" compile -o "$T/o" --max-report ten --list x=$L/gambling.txt
usage_error "bundle --version mistyped" "--version: expected a whole number from 1 to 9007199254740991, got '5x'" "$P" bundle --version 5x
usage_error "bundle --created mistyped" "--created: YYYY-MM-DD[THH:MM:SSZ], +Nd/h/m/s or Unix time, got 'soon'" "$P" bundle --created soon
usage_error "root init --threshold 0" "--threshold: expected a whole number from 1 to 16, got '0'" "$P" root init --threshold 0
usage_error "verify with an unknown option" "verify: unexpected argument '--frob'" "$P" verify --frob
usage_error "verify --active-version mistyped" "--active-version: expected a whole number" "$P" verify --active-version v2
expect_rc "bad category name is a usage error" 2 "$P" compile -o "$T/o" --list "Bad Cat=$L/gambling.txt"
expect_rc "unknown format is a usage error" 2 "$P" compile -o "$T/o" --format csv --list x=$L/gambling.txt
expect_rc "unknown command" 2 "$P" frobnicate
expect_rc "--help" 0 "$P" --help
expect_rc "compile --help" 0 "$P" compile --help
expect_rc "lookup --help" 0 "$P" lookup --help

cp "$T/idx" "$T/corrupt"
printf '\x55' | dd of="$T/corrupt" bs=1 seek=300 conv=notrunc 2>/dev/null
expect_rc "corrupt index refused by lookup" 1 "$P" lookup "$T/corrupt" example.com
grep -q "invalid index: checksum mismatch" "$T/err" && ok "corrupt index reason" || fail "corrupt index reason"
head -c 100 "$T/idx" > "$T/short"
expect_rc "truncated index refused by stats" 1 "$P" stats "$T/short"

"$P" compile -q --json --seed $SEED -o "$T/idx3" --format rpz --list authority=$L/authority.rpz > "$T/cj"
expect_eq "--format applies, --json summary" \
	"$(json_get "$T/cj" '(d["lists"][0]["format"], d["domains"], d["ip_triggers"])')" "('rpz', 3, 1)"
# --- RPZ: a second $ORIGIN expands relative owners under the apex; ( ... ) records are parsed;
# IP triggers shorter than /8 refused (a /0 would block every answer)
expect_rc "compile an RPZ with two origins and split records" 0 \
	"$P" compile --json -o "$T/rpz.idx" --list authority=$L/origins.rpz
expect_eq "RPZ: multi-line SOA and CNAME parsed, nothing dropped uncounted" \
	"$(json_get "$T/out" '(d["lists"][0]["entries"], d["lists"][0]["ip_triggers"], d["rejected"], d["unsupported"])')" \
	"(5, 1, 3, 0)"
grep -q "^origins.rpz:18: owner name outside the zone rpz.feed.example: outside.example.other. CNAME .$" "$T/err" &&
	ok "RPZ: owner outside the apex named with FILE:LINE" || { fail "RPZ: owner outside the apex"; cat "$T/err"; }
grep -q "^origins.rpz:20: IPv4 prefix /0 is shorter than the minimum /8 (it would block too much): 0.0.0.0.0.rpz-ip CNAME .$" "$T/err" &&
	grep -q "^origins.rpz:21: IPv6 prefix /0 is shorter than the minimum /8" "$T/err" &&
	ok "RPZ: /0 IP triggers refused with FILE:LINE" || { fail "RPZ: /0 IP triggers refused"; cat "$T/err"; }
out=$("$P" lookup "$T/rpz.idx" shop.scam shop x.shop.scam top-level.example absolute.example \
	split-record.scam split-record 203.0.113.9 203.0.113.10 10.1.2.3 2001:db8::1)
expect_eq "RPZ: relative owners after a second \$ORIGIN are under the apex" "$out" "shop.scam blocked authority shop.scam
shop allowed
x.shop.scam blocked authority *.shop.scam
top-level.example blocked authority top-level.example
absolute.example blocked authority absolute.example
split-record.scam blocked authority split-record.scam
split-record allowed
203.0.113.9 blocked authority 203.0.113.9/32
203.0.113.10 allowed
10.1.2.3 allowed
2001:db8::1 allowed"
"$P" lookup --json "$T/rpz.idx" split-record.scam > "$T/j"
expect_eq "RPZ: the split record keeps its action" "$(json_get "$T/j" 'd["action"]')" "drop"

# --- plain IP lists: auto-detected, compiled into IP triggers, same minimum prefix
expect_rc "compile a plain IP list (auto-detected)" 0 \
	"$P" compile --json -o "$T/ip.idx" --list threat=$L/threat.ip --list gambling=$L/gambling.txt
expect_eq "IP list detected as 'ip', every line a trigger" \
	"$(json_get "$T/out" '(d["lists"][0]["format"], d["lists"][0]["ip_triggers"], d["ip_triggers"], d["rejected"])')" \
	"('ip', 4, 4, 1)"
out=$("$P" lookup "$T/ip.idx" 198.51.100.7 198.51.100.8 203.0.113.200 198.18.0.66 2001:db8:bad::1 2001:db8::1)
expect_eq "IP list lookups (longest prefix, both families)" "$out" "198.51.100.7 blocked threat 198.51.100.7/32
198.51.100.8 allowed
203.0.113.200 blocked threat 203.0.113.200/24
198.18.0.66 blocked threat 198.18.0.66/28
2001:db8:bad::1 blocked threat 2001:db8:bad::1/48
2001:db8::1 allowed"
printf '10.0.0.0/8\n0.0.0.0/0\n::/1\n10.1.2.3/8\n' > "$T/broad.ip"
expect_rc "IP list with too broad prefixes still compiles the rest" 0 \
	"$P" compile -o "$T/broad.idx" --format ip --list threat=$T/broad.ip
grep -q "^broad.ip:2: IPv4 prefix /0 is shorter than the minimum /8" "$T/err" &&
	grep -q "^broad.ip:3: IPv6 prefix /1 is shorter than the minimum /8" "$T/err" &&
	grep -q "^broad.ip:4: address has bits set beyond the prefix length: 10.1.2.3/8$" "$T/err" &&
	ok "IP list: /0, /1 and host bits refused with FILE:LINE" || { fail "IP list refusals"; cat "$T/err"; }
expect_eq "IP list: a refused /0 blocks nothing" "$("$P" lookup "$T/broad.idx" 1.1.1.1 10.9.9.9)" "1.1.1.1 allowed
10.9.9.9 blocked threat 10.9.9.9/8"
expect_rc "IP list as --allow: every line skipped, so an error" 1 \
	"$P" compile -o "$T/o" --list gambling=$L/gambling.txt --allow $L/threat.ip
grep -q "^threat.ip:3: skipped: IP exception not applied (only block lists hold IP triggers): 198.51.100.7/32$" "$T/err" &&
	ok "IP exceptions are reported, not dropped" || { fail "IP exceptions reported"; cat "$T/err"; }

# --- AdBlock $important and $badfilter
expect_rc "compile AdBlock with \$important and \$badfilter" 0 \
	"$P" compile -o "$T/imp.idx" --list ads=$L/important.adblock --list malware=$L/malware.hosts
grep -q "^AdBlock rules disabled by \$badfilter: 1; exceptions overridden by \$important: 1$" "$T/out" &&
	ok "summary counts \$badfilter and \$important" || { fail "summary counts \$badfilter and \$important"; cat "$T/out"; }
out=$("$P" lookup "$T/imp.idx" tracker-net.example cdn.tracker-net.example x.cdn.tracker-net.example \
	login.tracker-net.example false-positive.example still-important.example)
expect_eq "AdBlock: \$important beats @@, not @@\$important; \$badfilter disables its rule only" "$out" \
	"tracker-net.example blocked ads tracker-net.example
cdn.tracker-net.example blocked ads *.tracker-net.example
x.cdn.tracker-net.example blocked ads *.tracker-net.example
login.tracker-net.example allowed
false-positive.example allowed
still-important.example blocked ads still-important.example"
# --- bundle component names become files in the device's policy slot: names that are not
# one plain file name, or that collide with the slot's own files, are refused (#17)
"$P" keygen -o "$T/pk" >/dev/null && "$P" root init --key "$T/pk.pub" --policy-key "$T/pk.pub" \
	--expires +30d -o "$T/root.json" >/dev/null && "$P" root sign --key "$T/pk.key" "$T/root.json" >/dev/null ||
	fail "bundle test keys and root"
bundle_with() { "$P" bundle --key "$T/pk.key" --version 1 --expires +1d --component blocklist="$T/idx" \
	--component "$1=$T/idx" -o "$T/b.bin"; }
refused_name() { # NAME REASON
	rm -f "$T/b.bin"
	expect_rc "bundle refuses component name '$(printf '%q' "$1")'" 2 bundle_with "$1"
	[ ! -e "$T/b.bin" ] && grep -qF -- "$2" "$T/err" && ok "... with a clear error, nothing written" ||
		{ fail "... with a clear error, nothing written"; cat "$T/err"; }
}
refused_name . "a component name starts with a letter or digit (no '.', '..', hidden names)"
refused_name .. "a component name starts with a letter or digit"
refused_name .hidden "a component name starts with a letter or digit"
refused_name manifest "'manifest' is reserved for the policy slot's manifest"
refused_name manifest.sig "'manifest' is reserved"
refused_name "" "empty component name"
refused_name ../../etc/passwd "'/' in a component name"
refused_name a/b "'/' in a component name"
refused_name "$(printf 'a\tb')" "--component 'a?b': control character in a component name"
refused_name "$(printf 'x\033]0;t\a')" "control character in a component name"
refused_name Blocklist2 "component names use only a-z 0-9 . _ -"
refused_name blocklist.tmp.1234 "'.tmp' in a component name is reserved for temporary files"
refused_name root.9 "'root.' names are the trust roots given with --root"
refused_name "$(printf 'n%.0s' $(seq 33))" "component name longer than 32 characters"
refused_name blocklist "two components named 'blocklist'"
expect_rc "bundle accepts a plain component name" 0 bundle_with allow-extra_1.v2
expect_rc "... and the bundle verifies" 0 "$P" verify --root "$T/root.json" "$T/b.bin"
done_testing
