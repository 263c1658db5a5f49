#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# The owner's login across restarts of real khiend (docs/WEB.md "Owner
# login"): the one-time setup code (STATE/setup.code, root's, 0600, logged,
# shown by `khienctl web setup-code`) that the first password needs, a
# wrong one counting as a failed login; and the 724/QĐ-BTTTT lockout
# (STATE/owner.lock) surviving a restart and a crash: five wrong logins,
# khiend restarted or killed, the right password still refused until the
# 5 minutes are over (test clock). A damaged or foreign-owned owner.lock is
# refused with a log line, locks rather than opens, and DNS keeps answering.
. "$(dirname "$0")/lib.sh"
P=$KHIEN_BUILD/khien-policy
UP=$(rand_port); DNS=$((UP + 1)); WEB=$((UP + 2))
D="dig +time=2 +tries=1 @127.0.0.1 -p $DNS"
ST=$T/state CODEF=$T/state/setup.code LOCK=$T/state/owner.lock
PW='Chủ-Nhà#2026'

"$P" compile -q -o "$T/idx" --list malware=$FIX/lists/malware.hosts >/dev/null 2>&1
chmod 644 "$T/idx"
cat >"$T/khiend.json" <<JSON
{
  "dns": {"listen": ["127.0.0.1:$DNS"], "upstreams": ["127.0.0.1:$UP"], "index": "$T/idx"},
  "web": {"listen": ["127.0.0.1:$WEB"], "rate": 50},
  "user": "khien"
}
JSON
start_upstream $UP 1 || exit 1
echo 0 >"$T/clock"
start() { KHIEN_TEST_CLOCK=$T/clock start_khiend --config "$T/khiend.json"; }
restart() { stop_khiend; start || { fail "khiend restarts"; done_testing; }; }
# post PATH KEY=VALUE...: the status of a form posted from the router's address
post() {
	(cd "$(dirname "$0")" && python3 -c '
import sys, web_form
port, path = int(sys.argv[1]), sys.argv[2]
form = dict(a.split("=", 1) for a in sys.argv[3:])
st, h, b = web_form.req(port, "POST", path, form)
print(st)' "$WEB" "$@")
}
page() { (cd "$(dirname "$0")" && python3 -c '
import sys, web_form
st, h, b = web_form.req(int(sys.argv[1]), "GET", "/")
print(b)' "$WEB"); }
# dns_ok: a blocked name is still blocked and the filter answers
dns_ok() { $D malware-c2.example | grep -q "status: NXDOMAIN"; }

start || { fail "khiend starts"; done_testing; }
ok "khiend starts with web.listen and a state directory"

# --- the setup code
for _ in $(seq 50); do [ -f "$CODEF" ] && break; sleep 0.1; done
CODE=$(cat "$CODEF" 2>/dev/null)
expect_eq "no password: a setup code in STATE/setup.code, root's, 0600" "$(stat -c '%U %a' "$CODEF" 2>&1)" "root 600"
[[ $CODE =~ ^[2-9A-HJ-NP-Z]{10}$ ]] && ok "the code: 10 characters without 0 O 1 I ($CODE)" || fail "setup code format: $CODE"
grep -qF "owner setup code: $CODE" "$T/khiend.log" && ok "khiend logs the code (the console shows it to the installer)" || fail "code in the log"
expect_eq "khienctl web setup-code prints it" "$(ctl web setup-code)" "$CODE"
expect_eq "khienctl web setup-code --json" "$(ctl --json web setup-code | json_get /dev/stdin 'd["setup_code"] + " " + d["file"]')" "$CODE $CODEF"
out=$(as_user khien "$KHIEN_BUILD/khienctl" --control "$CTL" web setup-code 2>&1)
rc=$?
[ $rc -ne 0 ] && ! echo "$out" | grep -qF "$CODE" && ok "khiend's own user cannot read the code (rc $rc)" || fail "the code readable as khien: $out"
as_user khien cat "$CODEF" >/dev/null 2>&1 && fail "khien reads setup.code" || ok "khiend's own user cannot read STATE/setup.code"
ctl web --help | grep -q "usage: khienctl web setup-code" && ok "khienctl web --help" || fail "khienctl web --help"
page | grep -q 'name="code"' && ok "the first-use form asks for the setup code" || fail "no code field"

expect_eq "first password without the code: refused" "$(post /setup password=$PW confirm=$PW)" "400"
WRONG=$(echo "$CODE" | tr '2-9A-HJ-NP-Z' '3-9A-HJ-NP-Z2')
expect_eq "with a wrong code: refused" "$(post /setup code=$WRONG password=$PW confirm=$PW)" "403"
[ ! -e "$ST/owner.pw" ] && ok "no password written" || fail "owner.pw written without the code"
# a wrong code is a failed login: four more lock every attempt, the right code too, over a restart
for i in 1 2 3 4; do post /setup code=$WRONG password=$PW confirm=$PW >/dev/null; done
expect_eq "five wrong codes within 30 s: the right one is refused (locked)" "$(post /setup code=$CODE password=$PW confirm=$PW)" "429"
restart
expect_eq "the setup lock survives a restart" "$(post /setup code=$CODE password=$PW confirm=$PW)" "429"
expect_eq "a restart keeps the same code" "$(cat "$CODEF")" "$CODE"
echo 301 >"$T/clock"
expect_eq "5 minutes later: the right code sets the password" "$(post /setup code=$CODE password=$PW confirm=$PW)" "303"
[ ! -e "$CODEF" ] && ok "the code is gone once used" || fail "setup.code still there"
expect_eq "a second setup with the old code: refused" "$(post /setup code=$CODE password=Other%231Pass confirm=Other%231Pass)" "409"
ctl web setup-code >/dev/null 2>$T/err
expect_eq "khienctl web setup-code: none once a password is set (exit 1)" "$?:$(grep -c 'password is set' $T/err)" "1:1"
restart
[ ! -e "$CODEF" ] && ! page | grep -q 'name="code"' && ok "after a restart: no new code, the login form" || fail "a code after restart"

# --- the lockout over a restart and a crash
expect_eq "the right password logs in" "$(post /login password=$PW)" "303"
for i in 1 2 3 4 5; do post /login password=Wrong%23$i >/dev/null; done
expect_eq "five wrong logins within 30 s: the sixth, right, is refused" "$(post /login password=$PW)" "429"
expect_eq "the lockout is kept in STATE/owner.lock, root's, 0600" "$(stat -c '%U %a' "$LOCK" 2>&1)" "root 600"
restart
expect_eq "after a restart the lock is still on (the right password refused)" "$(post /login password=$PW)" "429"
grep -q "owner login: still locked for" "$T/khiend.log" && ok "the log says the lock carried over" || fail "no carried-over lock in the log"
# a crash: every khiend process killed outright (as a packet of death would)
kill -9 "$(engine_pid)" $KPID 2>/dev/null; wait $KPID 2>/dev/null
start || { fail "khiend starts after a crash"; done_testing; }
expect_eq "after a crash (SIGKILL) the lock is still on" "$(post /login password=$PW)" "429"
echo 290 >"$T/clock" # the lock began at 301: 290 s into it
expect_eq "still locked before the 5 minutes are over" "$(post /login password=$PW)" "429"
echo 610 >"$T/clock"
expect_eq "after 5 minutes the right password logs in" "$(post /login password=$PW)" "303"
# the failure count, not only a lock, carries over: 4 before the restart, 1 after
for i in 1 2 3 4; do post /login password=Wrong%23$i >/dev/null; done
expect_eq "four wrong: not locked, the right password logs in (the count starts again)" "$(post /login password=$PW)" "303"
for i in 1 2 3 4; do post /login password=Wrong%23$i >/dev/null; done
restart
post /login password=Wrong%235 >/dev/null
expect_eq "four wrong, a restart, one more: locked (the count survived)" "$(post /login password=$PW)" "429"

# --- a damaged or foreign owner.lock: refused, logged, locks (never opens), DNS still answers
echo 1300 >"$T/clock"
stop_khiend
printf 'khien-lock 1 garbage\n' >"$LOCK"
start || { fail "khiend starts with a damaged owner.lock"; done_testing; }
grep -qF "$LOCK: damaged: refused; owner logins locked for 5 minutes" "$T/khiend.log" &&
	ok "a damaged owner.lock is refused with a log line" || { fail "damaged lock log"; grep owner "$T/khiend.log" | sed 's/^/#  /'; }
expect_eq "and logins are locked, not opened" "$(post /login password=$PW)" "429"
dns_ok && ok "khiend still answers DNS" || fail "DNS after a damaged owner.lock"
page | grep -q "Bảo vệ đang bật" && ok "and serves the status page" || fail "status page after a damaged owner.lock"
echo 1610 >"$T/clock"
expect_eq "5 minutes later the right password logs in" "$(post /login password=$PW)" "303"
stop_khiend
printf 'khien-lock 1 %s 0\n' "$(date +%s)" >"$LOCK"
chown khien "$LOCK"
start || { fail "khiend starts with a foreign owner.lock"; done_testing; }
grep -qF "$LOCK: owned by another user: refused" "$T/khiend.log" &&
	ok "an owner.lock owned by khiend's own user (not root) is refused with a log line" || fail "foreign lock log"
expect_eq "and logins are locked" "$(post /login password=$PW)" "429"
stop_khiend
rm -f "$LOCK"
ln -s /dev/null "$LOCK"
start || { fail "khiend starts with a symlinked owner.lock"; done_testing; }
grep -qF "$LOCK: a symbolic link: refused" "$T/khiend.log" && ok "a symlink as owner.lock is refused" || fail "symlink lock"
[ -f "$LOCK" ] && [ ! -L "$LOCK" ] && [ "$(stat -c '%U %a' "$LOCK")" = "root 600" ] &&
	ok "and replaced by root's own file (the lock)" || fail "symlink not replaced"
dns_ok && ok "khiend still answers DNS" || fail "DNS with a symlinked owner.lock"
kill -0 $KPID && ok "khiend still running" || fail "khiend died"
stop_khiend
! grep -qE "AddressSanitizer|LeakSanitizer|runtime error" "$T/khiend.log" && ok "no sanitizer finding in khiend's log" ||
	{ fail "sanitizer finding"; grep -E -A5 "Sanitizer|runtime error" "$T/khiend.log" | head -20 | sed 's/^/#  /'; }
done_testing
