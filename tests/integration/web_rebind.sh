#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# The owner's login against a web page of another site that the victim's
# browser opened (docs/WEB.md "Owner login", "The router's own names"):
# DNS rebinding points the attacker's name at the router, and the browser
# then sends the page's own Origin and the attacker's name as Host, so an
# Origin check alone passes. Against real khiend with no password yet, such
# a request must not set the first password, log in, lock the owner out or
# get a session; the router's address (and a .lan name) still works.
. "$(dirname "$0")/lib.sh"
UP=$(rand_port); DNS=$((UP + 1)); WEB=$((UP + 2))
cat >"$T/khiend.json" <<JSON
{
  "dns": {"listen": ["127.0.0.1:$DNS"], "upstreams": ["127.0.0.1:$UP"]},
  "web": {"listen": ["127.0.0.1:$WEB"], "rate": 100},
  "user": "khien"
}
JSON
start_upstream $UP 1 || exit 1
echo 0 >"$T/clock"
KHIEN_TEST_CLOCK=$T/clock start_khiend --config "$T/khiend.json" || { fail "khiend starts"; done_testing; }
ok "khiend starts with no owner password"

# post HOST PATH BODY [COOKIE]: a form post whose Origin is http://HOST; the status line and Set-Cookie
post() {
	python3 - "$WEB" "$@" <<'PY'
import socket, sys
port, host, path, body = int(sys.argv[1]), sys.argv[2], sys.argv[3], sys.argv[4].encode()
cookie = sys.argv[5] if len(sys.argv) > 5 else ""
h = ("POST %s HTTP/1.1\r\nHost: %s\r\nOrigin: http://%s\r\n" % (path, host, host) +
     ("Cookie: %s\r\n" % cookie if cookie else "") +
     "Content-Type: application/x-www-form-urlencoded\r\nContent-Length: %d\r\n\r\n" % len(body))
s = socket.create_connection(("127.0.0.1", port), timeout=10)
s.sendall(h.encode() + body)
out = b""
while True:
    b = s.recv(65536)
    if not b: break
    out += b
lines = out.decode("utf-8", "replace").split("\r\n")
print(lines[0])
for l in lines:
    if l.lower().startswith("set-cookie:"): print(l)
PY
}
PW='Rebind%23Pw2026x'
EVIL=rebind.attacker.example
CODE=$(cat "$T/state/setup.code" 2>/dev/null)
out=$(post "$EVIL:$WEB" /setup "code=$CODE&password=$PW&confirm=$PW")
echo "$out" | head -1 | grep -q " 421 " && ! echo "$out" | grep -qi "set-cookie" &&
	ok "rebound name (Host = Origin = the attacker's): first password refused (421)" ||
	fail "rebound /setup: $(echo "$out" | head -1)"
[ ! -e "$T/state/owner.pw" ] && ok "no owner.pw written by the rebound page" || fail "owner.pw written by the rebound page"
out=$(post "$EVIL" /setup "code=$CODE&password=$PW&confirm=$PW")
echo "$out" | head -1 | grep -q " 421 " && ok "rebound name without a port: refused too" || fail "rebound /setup no port: $(echo "$out" | head -1)"
out=$(post "Rebind.Attacker.Example." /setup "code=$CODE&password=$PW&confirm=$PW")
echo "$out" | head -1 | grep -q " 421 " && ok "rebound name in capitals with a trailing dot: refused" || fail "rebound /setup case: $(echo "$out" | head -1)"
# six wrong logins from the rebound page would lock the owner out for 5 minutes
for i in 1 2 3 4 5 6; do post "$EVIL" /login "password=Wrong%23$i" >/dev/null; done
out=$(post "127.0.0.1:$WEB" /setup "code=$CODE&password=$PW&confirm=$PW")
echo "$out" | head -1 | grep -q " 303 " && echo "$out" | grep -q "khien_sid=" &&
	ok "the router's address: the owner sets the password (no lockout left by the rebound page)" ||
	fail "owner /setup at the router's address: $(echo "$out" | head -1)"
out=$(post "$EVIL" /login "password=$PW")
echo "$out" | head -1 | grep -q " 421 " && ! echo "$out" | grep -qi "set-cookie" &&
	ok "rebound name with the right password: no session" || fail "rebound login: $(echo "$out" | head -1)"
out=$(post "khien.lan:$WEB" /login "password=$PW")
echo "$out" | head -1 | grep -q " 303 " && ok "a .lan name (the router's own, not in public DNS): login works" ||
	fail "khien.lan login: $(echo "$out" | head -1)"
sid=$(post "[::ffff:127.0.0.1]" /login "password=$PW" | sed -n 's/.*khien_sid=\([0-9a-f]*\).*/\1/p')
[ -n "$sid" ] && ok "an IPv6 literal Host: login works" || fail "IPv6 literal login"
# get HOST [COOKIE]: the whole answer to GET /
get() {
	python3 - "$WEB" "$@" <<'PY'
import socket, sys
port, host = int(sys.argv[1]), sys.argv[2]
cookie = sys.argv[3] if len(sys.argv) > 3 else ""
s = socket.create_connection(("127.0.0.1", port), timeout=10)
s.sendall(("GET / HTTP/1.1\r\nHost: %s\r\n%s\r\n" % (host, "Cookie: %s\r\n" % cookie if cookie else "")).encode())
out = b""
while True:
    b = s.recv(65536)
    if not b: break
    out += b
sys.stdout.write(out.decode("utf-8", "replace"))
PY
}
out=$(get "$EVIL" "khien_sid=$sid")
echo "$out" | head -1 | grep -q " 421 " && ! echo "$out" | grep -qF "Cảnh báo" && ! echo "$out" | grep -qF "Đăng xuất" &&
	ok "rebound name: the status page (warnings, devices) is not served to it, even with a session cookie" ||
	fail "rebound GET: $(echo "$out" | head -1)"
out=$(get "127.0.0.1:$WEB" "khien_sid=$sid")
echo "$out" | head -1 | grep -q " 200 " && echo "$out" | grep -qF "Đăng xuất" &&
	ok "the router's address with the owner's session: the status page with the devices" || fail "owner GET: $(echo "$out" | head -1)"
kill -0 $KPID && ok "khiend still running" || fail "khiend died"
stop_khiend
! grep -qE "AddressSanitizer|LeakSanitizer|runtime error" "$T/khiend.log" && ok "no sanitizer finding in khiend's log" ||
	{ fail "sanitizer finding"; grep -E -A5 "Sanitizer|runtime error" "$T/khiend.log" | head -20 | sed 's/^/#  /'; }
done_testing
