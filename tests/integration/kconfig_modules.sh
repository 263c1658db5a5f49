#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# The agent's optional modules (CONFIG_AUDIT, CONFIG_INTEGRITY,
# CONFIG_FIRMWARE) can be left out of a router build: khiend built without
# them compiles with -Werror, links none of their code, still filters DNS,
# and says plainly what it lacks (a firmware request is refused, so the
# sysupgrade hook refuses every image rather than waving one through).
. "$(dirname "$0")/lib.sh"
O=$KHIEN_BUILD/modules-off
P=$KHIEN_BUILD/khien-policy
UP=$(rand_port); DNS=$((UP + 1))

mkdir -p "$O"
{ grep -v -e '^CONFIG_AUDIT=' -e '^CONFIG_INTEGRITY=' -e '^CONFIG_FIRMWARE=' \
	"$KHIEN_TOP/configs/linux_defconfig"
  printf '%s\n' '# CONFIG_AUDIT is not set' '# CONFIG_INTEGRITY is not set' \
	'# CONFIG_FIRMWARE is not set'; } >"$O/.config.in"
cmp -s "$O/.config.in" "$O/.config.used" 2>/dev/null ||
	{ cp "$O/.config.in" "$O/.config"; cp "$O/.config.in" "$O/.config.used"; }
# a plain build whatever this suite runs under (SANITIZE comes through MAKEFLAGS)
mk() { env -u MAKEFLAGS -u MFLAGS -u MAKELEVEL make -s -j"$(nproc)" -C "$KHIEN_TOP" O="$O" \
	KCONFIG_CONFIG="$O/.config" SANITIZE=0 "$@"; }
if mk olddefconfig >"$T/mk" 2>&1 && mk "$O/khiend" "$O/khienctl" >>"$T/mk" 2>&1; then
	ok "khiend builds without CONFIG_AUDIT, CONFIG_INTEGRITY and CONFIG_FIRMWARE (-Werror)"
else
	fail "build without the modules"; sed 's/^/#  /' "$T/mk"; done_testing
fi
for n in AUDIT INTEGRITY FIRMWARE; do
	grep -qx "# CONFIG_$n is not set" "$O/.config" || fail "CONFIG_$n is off in $O/.config"
done
# none of the modules' code is linked: their entry points are not in the binary
syms=$(nm "$O/khiend" | grep -cwE 'kh_agent_audit_new|kh_audit_step|kh_integrity_new|kh_bl_parse|kh_agent_fw_new|kh_fw_store_open|kh_fw_manifest_parse')
expect_eq "no audit, integrity or firmware code is linked" "$syms" 0
full=$(nm "$KHIEN_BUILD/khiend" | grep -cwE 'kh_agent_audit_new|kh_integrity_new|kh_agent_fw_new')
expect_eq "... while the default build links all three" "$full" 3

"$P" compile -q -o "$T/idx" --list gambling="$FIX/lists/gambling.txt" >/dev/null 2>&1
chmod 644 "$T/idx"
start_upstream $UP 1 || exit 1
KHIEN_BUILD=$O start_khiend --listen 127.0.0.1:$DNS --upstream 127.0.0.1:$UP --index "$T/idx" ||
	{ fail "khiend without the modules starts"; done_testing; }
ok "khiend without the modules starts"
D="dig +time=5 +tries=1 @127.0.0.1 -p $DNS"
$D www.casino-example.com | grep -q "status: NXDOMAIN" && ok "it blocks a listed name" ||
	fail "blocked name"
[[ "$($D example.org +short)" == 198.19.* ]] && ok "it forwards an allowed name" || fail "allowed name"
K=$O
kctl() { "$K/khienctl" --control "$CTL" "$@"; }
out=$(kctl audit 2>&1); rc=$?
expect_eq "khienctl audit fails (exit 1)" "$rc" 1
grep -q "built without the audit (CONFIG_AUDIT)" <<<"$out" && ok "... saying the audit is not built" ||
	{ fail "audit message"; echo "# $out"; }
out=$(kctl integrity 2>&1); rc=$?
expect_eq "khienctl integrity fails (exit 1)" "$rc" 1
grep -q "CONFIG_INTEGRITY" <<<"$out" && ok "... saying the integrity check is not built" ||
	{ fail "integrity message"; echo "# $out"; }
head -c 4096 /dev/urandom >"$T/img"
echo '{}' >"$T/img.manifest"
out=$(kctl firmware verify "$T/img" "$T/img.manifest" 2>&1); rc=$?
expect_eq "khienctl firmware verify refuses every image (exit 1)" "$rc" 1
grep -q "CONFIG_FIRMWARE" <<<"$out" && ok "... saying firmware checks are not built" ||
	{ fail "firmware message"; echo "# $out"; }
kctl status >/dev/null && ok "khiend still answers its control socket" || fail "status after refusals"
stop_khiend
done_testing
