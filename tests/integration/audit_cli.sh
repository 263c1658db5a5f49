#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# khien-policy audit as an ISP runs it before devices ship: the baseline
# against a factory-default and a hardened OpenWrt root file system, JSON
# output, and wrong rules and hostile images (paths escaping the root,
# a 100 MB file, link loops, a FIFO), each with its clear error.
. "$(dirname "$0")/lib.sh"
P=$KHIEN_BUILD/khien-policy
B=$KHIEN_TOP/policy/rules/openwrt-baseline.json
MK=$FIX/audit/mkroot.sh

"$MK" factory "$T/factory" && "$MK" hardened "$T/hardened" || fail "fixture roots made"
n=$(json_get "$B" 'len(d["checks"])')
[ "$n" -ge 25 ] && ok "the baseline has at least 25 checks ($n)" || fail "baseline has $n checks"

# ---- a factory-default router: each finding reported
expect_rc "factory root: a check fails (exit 1)" 1 "$P" audit check "$B" --root "$T/factory" --json
cp "$T/out" "$T/factory.json"
result() { json_get "$T/$1.json" "[c['result'] for c in d['checks'] if c['id'] == '$2'][0]"; }
for id in root-password-set accounts-no-default-password ssh-no-password-login ssh-no-root-password-login \
	no-telnet no-ftp no-tftp wifi-not-open wifi-no-wps firewall-wan-input firewall-wan-forward wan-no-ssh \
	upnp-secure-mode kernel-aslr etc-no-world-writable suid-known-set sysupgrade-signatures; do
	expect_eq "factory: $id fails" "$(result factory $id)" "fail"
done
expect_eq "factory: telnet evidence names the socket and the process" \
	"$(json_get "$T/factory.json" "[c['evidence'] for c in d['checks'] if c['id'] == 'no-telnet'][0]")" \
	"tcp 0.0.0.0:23 listening; telnetd runs (pid 518)"
expect_eq "factory: the SUID finding names the program" \
	"$(json_get "$T/factory.json" "[c['evidence'] for c in d['checks'] if c['id'] == 'suid-known-set'][0]")" \
	"/usr/bin/rescue (4755) (1 in all)"
expect_eq "JSON: policy id and version" "$(json_get "$T/factory.json" 'd["policy"]["id"], d["policy"]["version"]')" \
	"khien-openwrt-baseline 1"
expect_eq "JSON: summary counts add up to the checks" \
	"$(json_get "$T/factory.json" 'sum(d["summary"][k] for k in ("pass", "fail", "na", "error")) == len(d["checks"]) == '"$n")" "True"
expect_eq "JSON: every check has id, result, severity, evidence" \
	"$(json_get "$T/factory.json" 'all(set(c) == {"id", "result", "severity", "evidence"} for c in d["checks"])')" "True"
! grep -qE '\$1\$|s4lt3d00|correct horse' "$T/factory.json" && ok "no password hash or secret in the output" ||
	fail "a hash or secret in the output"

# ---- the hardened router passes everything
expect_rc "hardened root: every check passes or is na (exit 0)" 0 "$P" audit check "$B" --root "$T/hardened" --json
expect_eq "hardened: no fail and no error" "$(json_get "$T/out" 'd["summary"]["fail"] + d["summary"]["error"]')" "0"
expect_rc "table output" 0 "$P" audit check "$B" --root "$T/hardened"
grep -qE "^$n checks: [0-9]+ pass, 0 fail, [0-9]+ na, 0 error$" "$T/out" && ok "table ends with the summary" ||
	fail "table summary: $(tail -1 "$T/out")"
grep -q "^ssh-no-password-login\|^pass   high     ssh-no-password-login" "$T/out" && ok "table lists checks" ||
	fail "table lists checks"
expect_eq "wifi key not shown in the hardened evidence" "$(grep -c 'correct horse' "$T/out")" "0"

# ---- rules that are wrong: exit 2 with where and why
rules() { printf '{"policy": {"id": "t", "version": 1}, "checks": [{"id": "c", "title": "t", "severity": "low", "rules": [%s]}]}' "$1" > "$T/r.json"; }
bad_rules() { # NAME RULE-JSON MESSAGE
	rules "$2"
	expect_rc "wrong rules: $1 (exit 2)" 2 "$P" audit check "$T/r.json" --root "$T/hardened"
	grep -qF -- "$3" "$T/err" && ok "  says: $(head -c 120 "$T/err")" || fail "  $1: $(cat "$T/err")"
}
printf '{"policy": {"id": "t",\n  "version": 1},\n  "checks": [}\n' > "$T/r.json"
expect_rc "bad JSON (exit 2)" 2 "$P" audit check "$T/r.json" --root "$T/hardened"
grep -qF "r.json: line 3, column 14: not valid JSON" "$T/err" && ok "  says where: $(cat "$T/err")" || fail "  bad JSON: $(cat "$T/err")"
bad_rules "unknown kind" '{"shell": "rm -rf /"}' "checks[0].rules[0]: unknown rule kind"
bad_rules "unknown key" '{"file": "/etc/x", "exist": true}' "checks[0].rules[0].exist: unknown key"
bad_rules "bad regex" '{"file": "/etc/x", "line": "(("}' "checks[0].rules[0].line: bad regular expression"
bad_rules "two tests in one rule" '{"file": "/etc/x", "exists": true, "owner": "root"}' "a file rule has one test"
bad_rules "bad mode" '{"file": "/etc/x", "mode_max": "0999"}' "checks[0].rules[0].mode_max: expected an octal mode"
bad_rules "relative path" '{"file": "etc/x", "exists": true}' "checks[0].rules[0].file: expected an absolute path"
bad_rules "bad UCI address" '{"uci": "dropbear.PasswordAuth", "equals": "off"}' "expected \"package.section.option\""
bad_rules "bad port" '{"listening": {"proto": "tcp", "port": 70000}}' "checks[0].rules[0].listening.port: expected a port number"
bad_rules "bad password test" '{"password": "root", "is": "weak"}' "checks[0].rules[0].is: expected"
printf '{"policy": {"id": "t", "version": 1}, "checks": [{"id": "c", "title": "t", "severity": "low", "rules": [{"fact": "x", "equals": "1"}]}, {"id": "c", "title": "u", "severity": "low", "rules": [{"fact": "x", "equals": "1"}]}]}' > "$T/r.json"
expect_rc "duplicate check id (exit 2)" 2 "$P" audit check "$T/r.json" --root "$T/hardened"
grep -qF "checks[1].id: 'c' is also checks[0]" "$T/err" && ok "  says which" || fail "  duplicate id: $(cat "$T/err")"
expect_rc "missing --root (exit 2)" 2 "$P" audit check "$B"
expect_rc "a root that does not exist (exit 2)" 2 "$P" audit check "$B" --root "$T/nowhere"
expect_rc "audit --help" 0 "$P" audit --help
grep -q "usage: khien-policy audit check" "$T/out" && ok "  prints the usage" || fail "  audit --help"

# ---- a hostile image: nothing outside the root is read, nothing hangs
H=$T/hostile
mkdir -p "$H/etc" "$H/outside" "$T/outside"
echo "LEAK outside the root" > "$T/outside/secret"
echo "INSIDE the root" > "$H/outside/secret"
ln -s ../../../../../../outside/secret "$H/etc/rel"
ln -s /../../outside/secret "$H/etc/abs"
ln -s loop2 "$H/etc/loop1"; ln -s loop1 "$H/etc/loop2"
truncate -s 100M "$H/etc/big"
mkfifo "$H/etc/fifo"
ln -s /proc/self/root/etc/shadow "$H/etc/magic"
cat > "$T/r.json" <<'J'
{"policy": {"id": "hostile", "version": 1}, "checks": [
 {"id": "rel", "title": "t", "severity": "low", "rules": [{"file": "/etc/rel", "line": "LEAK"}]},
 {"id": "rel-inside", "title": "t", "severity": "low", "rules": [{"file": "/etc/rel", "line": "INSIDE"}]},
 {"id": "abs-inside", "title": "t", "severity": "low", "rules": [{"file": "/etc/abs", "line": "INSIDE"}]},
 {"id": "dotdot", "title": "t", "severity": "low", "rules": [{"file": "/../../../../outside/secret", "line": "INSIDE"}]},
 {"id": "loop", "title": "t", "severity": "low", "rules": [{"file": "/etc/loop1", "exists": true}]},
 {"id": "big", "title": "t", "severity": "low", "rules": [{"file": "/etc/big", "line": "x"}]},
 {"id": "fifo", "title": "t", "severity": "low", "rules": [{"file": "/etc/fifo", "no_line": "x"}]},
 {"id": "magic", "title": "t", "severity": "low", "na_if_missing": true, "rules": [{"file": "/etc/magic", "line": "root"}]}
]}
J
expect_rc "hostile image: evaluated, with errors (exit 1), within 10 s" 1 timeout 10 "$P" audit check "$T/r.json" --root "$H" --json
cp "$T/out" "$T/hostile.json"
ev() { json_get "$T/hostile.json" "[c['result'] + ': ' + c['evidence'] for c in d['checks'] if c['id'] == '$1'][0]"; }
expect_eq "a relative link climbing out stops at the root" "$(ev rel)" "fail: /etc/rel: no line matches"
expect_eq "  and reads the root's own file" "$(ev rel-inside)" "pass: /etc/rel:1: INSIDE the root"
expect_eq "an absolute link resolves inside the root" "$(ev abs-inside)" "pass: /etc/abs:1: INSIDE the root"
expect_eq "'..' in a rule's path stops at the root" "$(ev dotdot)" "pass: /../../../../outside/secret:1: INSIDE the root"
expect_eq "a link loop is an error" "$(ev loop)" "error: /etc/loop1: too many symbolic links"
expect_eq "a 100 MB file is not read" "$(ev big)" "error: /etc/big: larger than 1 MiB"
expect_eq "a FIFO is not opened for reading" "$(ev fifo)" "error: /etc/fifo: not a regular file"
expect_eq "a /proc/self link is followed inside the root (missing there)" "$(ev magic)" "na: /etc/magic missing"
! grep -q LEAK "$T/hostile.json" && ok "nothing from outside the root appears" || fail "outside content leaked"

# ---- review findings, each as an attack (2026-12-01)
R=$T/review
"$MK" factory "$R" >/dev/null
cat >> "$R/etc/config/wireless" <<'C'

config wifi-iface 'wep_iface'
	option encryption 'wep-open'
	option key1 's:S3cr3tWEPkey'
	option priv_key_pwd 'EAPclientKeyPass'
C
cat > "$R/etc/config/network" <<'C'
config interface 'wwan'
	option proto 'qmi'
	option pincode '4321'
C
# a hash that would take hours per candidate, for an account named in a rule
sed -i 's|^admin:[^:]*:|admin:$2b$31$abcdefghijklmnopqrstuuabcdefghijklmnopqrstuvwxyz01234:|' "$R/etc/shadow"
mkdir -p "$R/big" "$R/deep"
for i in $(seq 31); do : > "$R/big/f$i"; done
chmod 666 "$R/big/f26"
d="$R/deep"; for i in 1 2 3 4 5 6; do d="$d/$(printf 'x%.0s' $(seq 200))"; mkdir -p "$d"; done
: > "$d/evil"; chmod 4777 "$d/evil"
printf 'ok\n\0bad line\n' > "$R/etc/nul"
{ head -c 5000 /dev/zero | tr '\0' a; echo " bad"; } > "$R/etc/long"
mknod "$R/etc/devnode" c 1 3 2>/dev/null || :
cat > "$T/r.json" <<'J'
{"policy": {"id": "review", "version": 1}, "checks": [
 {"id": "wep-key", "title": "t", "severity": "low", "rules": [{"uci": "wireless.wep_iface.key1", "missing": true}]},
 {"id": "eap-pwd", "title": "t", "severity": "low", "rules": [{"uci": "wireless.wep_iface.priv_key_pwd", "missing": true}]},
 {"id": "sim-pin", "title": "t", "severity": "low", "rules": [{"uci": "network.wwan.pincode", "missing": true}]},
 {"id": "switch", "title": "t", "severity": "low", "rules": [{"uci": "dropbear.@dropbear[0].PasswordAuth", "equals": "off"}]},
 {"id": "costly-hash", "title": "t", "severity": "low", "rules": [{"password": "admin", "is": "default", "passwords": ["admin", "1234"]}]},
 {"id": "big-dir", "title": "t", "severity": "low", "condition": "none", "rules": [{"files_under": "/big", "perm_any": "0002", "max_files": 10}]},
 {"id": "deep-path", "title": "t", "severity": "low", "condition": "none", "rules": [{"files_under": "/deep", "perm_any": "4000", "max_depth": 12}]},
 {"id": "nul", "title": "t", "severity": "low", "rules": [{"file": "/etc/nul", "no_line": "bad"}]},
 {"id": "long", "title": "t", "severity": "low", "rules": [{"file": "/etc/long", "no_line": "bad"}]},
 {"id": "devnode", "title": "t", "severity": "low", "na_if_missing": true, "rules": [{"file": "/etc/devnode", "no_line": "x"}]}
]}
J
expect_rc "review: the hostile image is audited within 20 s" 1 timeout 20 "$P" audit check "$T/r.json" --root "$R" --json
cp "$T/out" "$T/review.json"
rv() { json_get "$T/review.json" "[c['result'] + ': ' + c['evidence'] for c in d['checks'] if c['id'] == '$1'][0]"; }
! grep -qE 'S3cr3tWEPkey|EAPclientKeyPass|4321' "$T/review.json" && ok "WEP key1, 802.1X key password and SIM pin are not shown" ||
	fail "secrets in evidence: $(grep -oE 'S3cr3tWEPkey|EAPclientKeyPass|4321' "$T/review.json" | sort -u | tr '\n' ' ')"
expect_eq "  they are said to be set" "$(rv wep-key)" "fail: wireless.wep_iface.key1 is set (value not shown)"
expect_eq "a plain switch under a secret-looking name is still shown" "$(rv switch)" "fail: dropbear.@dropbear[0].PasswordAuth = 'on'"
expect_eq "a hash too costly to check is an error, not hours of work" "$(rv costly-hash)" "error: admin: password hash cost too high to check"
expect_eq "a directory over max_files is an error, not a pass" "$(rv big-dir)" "error: more than 10 files under /big (max_files)"
expect_eq "a path too long to name is an error, not unseen" "$(rv deep-path)" "error: a path under /deep is longer than 1023 bytes"
expect_eq "a NUL in a file is an error for line rules" "$(rv nul)" "error: /etc/nul: contains a NUL byte (not a text file)"
expect_eq "a line past the limit is an error for line rules" "$(rv long)" "error: /etc/long:1: line longer than 4095 bytes"
if [ -c "$R/etc/devnode" ]; then
	expect_eq "a device node is not opened" "$(rv devnode)" "error: /etc/devnode: not a regular file"
else
	skip "a device node is not opened" "mknod not permitted here"
fi

# ---- compile: the canonical component, signed into a bundle
expect_rc "audit compile" 0 "$P" audit compile "$B" -o "$T/audit.rules"
grep -q "^wrote $T/audit.rules: khien-openwrt-baseline version 1, $n checks" "$T/out" && ok "  says what it wrote" ||
	fail "  compile summary: $(cat "$T/out")"
/usr/bin/python3 -c "import json,sys; d=json.load(open(sys.argv[1])); d['checks'].reverse(); d['checks'].reverse(); print(json.dumps(d, indent=4, sort_keys=False)[::1])" "$B" |
	/usr/bin/python3 -c "import json,sys; d=json.load(sys.stdin); print(json.dumps(dict(reversed(list(d.items())))))" > "$T/reordered.json"
expect_rc "audit compile of the same rules written differently" 0 "$P" audit compile "$T/reordered.json" -o "$T/audit2.rules"
cmp -s "$T/audit.rules" "$T/audit2.rules" && ok "  gives the same bytes (canonical)" || fail "  canonical bytes differ"
expect_rc "the compiled rules evaluate the same" 1 "$P" audit check "$T/audit.rules" --root "$T/factory" --json
expect_eq "  same results as the source rules" "$(json_get "$T/out" '[c["result"] for c in d["checks"]]')" \
	"$(json_get "$T/factory.json" '[c["result"] for c in d["checks"]]')"
rules '{"file": "/etc/x", "line": "(("}'
expect_rc "audit compile refuses wrong rules (exit 2)" 2 "$P" audit compile "$T/r.json" -o "$T/bad.rules"
[ ! -e "$T/bad.rules" ] && ok "  and writes nothing" || fail "  wrote bad.rules"
"$P" keygen -o "$T/k" >/dev/null && "$P" root init --key "$T/k.pub" --policy-key "$T/k.pub" --expires +30d \
	-o "$T/root.json" >/dev/null && "$P" root sign --key "$T/k.key" "$T/root.json" >/dev/null || fail "keys and root"
SOURCE_DATE_EPOCH=1795000000 "$P" compile -o "$T/idx" --list malware="$FIX/lists/malware.hosts" >/dev/null 2>&1
expect_rc "bundle with blocklist and audit components" 0 "$P" bundle --key "$T/k.key" --version 1 --expires +1d \
	--component blocklist="$T/idx" --component audit="$T/audit.rules" -o "$T/b.bin"
expect_rc "  verifies as a device would" 0 "$P" verify --root "$T/root.json" "$T/b.bin"
# ---- a hostile image's bytes in the evidence cannot drive the terminal or forge a log line
mkdir -p "$T/esc/etc/config"
printf 'config dropbear\n\toption Interface "wan\033]0;PWNED\007\033[2J\033[1;1Hall checks pass\r"\n' \
	>"$T/esc/etc/config/dropbear"
printf 'ok\033[2J\rforged line\n' >"$T/esc/etc/banner"
printf '{"policy": {"id": "t", "version": 1}, "checks": [%s, %s]}' \
	'{"id": "u", "title": "t", "severity": "high", "rules": [{"uci": "dropbear.@dropbear[0].Interface", "in": ["lan"]}]}' \
	'{"id": "f", "title": "t", "severity": "high", "rules": [{"file": "/etc/banner", "line": "forged"}]}' >"$T/esc.json"
"$P" audit check "$T/esc.json" --root "$T/esc" >"$T/esc.out" 2>&1
! LC_ALL=C grep -q $'[\x01-\x09\x0b-\x1f\x7f]' "$T/esc.out" && ok "image bytes in the evidence: no control byte reaches the terminal" ||
	{ fail "control bytes in the table output"; od -c "$T/esc.out" | head -20 | sed 's/^/#  /'; }
grep -qF "/etc/banner:1: ok?[2J?forged line" "$T/esc.out" &&
	ok "  the line is still shown, control bytes as '?'" || { fail "  file line evidence"; cat "$T/esc.out"; }
grep -qF "/etc/config/dropbear: line 2: control character in a word" "$T/esc.out" &&
	ok "  a UCI value with control bytes is an error (libuci refuses it too)" || { fail "  UCI evidence"; cat "$T/esc.out"; }
# ---- an image's UCI file that libuci cannot load is an error, never a pass
# (the router would fall back to defaults: password login on, no firewall)
uci_differs() { # NAME TEXT
	mkdir -p "$T/ud/etc/config"
	printf '%b' "$2" >"$T/ud/etc/config/dropbear"
	printf '{"policy": {"id": "t", "version": 1}, "checks": [%s]}' \
		'{"id": "pw", "title": "t", "severity": "high", "rules": [{"uci": "dropbear.@dropbear[0].PasswordAuth", "in": ["off"]}]}' >"$T/ud.json"
	"$P" audit check "$T/ud.json" --root "$T/ud" --json >"$T/ud.out" 2>&1
	expect_eq "uci file libuci refuses ($1): error, not pass" "$(json_get "$T/ud.out" 'd["checks"][0]["result"]')" "error"
}
uci_differs "'-' in an option name" "config dropbear\n\toption PasswordAuth 'off'\n\toption Root-Login 'on'\n"
uci_differs "a section name reused for another type" "config dropbear 'main'\n\toption PasswordAuth 'off'\nconfig other 'main'\n"
uci_differs "a control byte in a value" "config dropbear\n\toption PasswordAuth 'off'\n\toption Banner 'a\\033b'\n"
uci_differs "';' ends a command in libuci" "config dropbear\n\toption PasswordAuth off;\n"
done_testing
