#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
# The owner's login on khiend's status page (docs/WEB.md "Owner login"),
# against real khiend, as a LAN client would attack it: first-use password
# (weak ones refused), the session cookie's attributes, CSRF token and
# Origin checks on every POST, a cookie from another (or an ended) session
# refused, and the lockout: 5 wrong passwords within 30 s lock logins for
# 5 minutes (the test clock file moves the helper's clock), 5 spread over
# more than 30 s do not. Prints TAP lines for tests/run.sh.
# usage: web_login.py PORT CLOCK_FILE DNS_PORT
import re, socket, subprocess, sys, time, urllib.parse

import web_form  # its HTTP client (the same directory)

port, clock, dns = int(sys.argv[1]), sys.argv[2], sys.argv[3]
failed = 0
PW = "Bảo-Vệ#2026x"  # UTF-8, upper, lower, digit, symbol


def ok(cond, what):
    global failed
    print(("ok - " if cond else "not ok - ") + what)
    if not cond:
        failed = 1
    return cond


def req(method, path, form=None, cookie=None, origin="auto", src="127.0.0.1", extra=""):
    return web_form.req(port, method, path, form, cookie, origin, src, extra)


def set_clock(sec):
    with open(clock, "w") as f:
        f.write("%d\n" % sec)


def cookie_of(h):
    for c in h.get("set-cookie", []):
        m = re.match(r"khien_sid=([0-9a-f]*)", c)
        if m:
            return "khien_sid=" + m.group(1), c
    return None, None


def csrf_of(body):
    m = re.search(r'name="csrf" value="([0-9a-f]{32})"', body)
    return m.group(1) if m else None


set_clock(0)
st, h, b = req("GET", "/")
ok(st == 200 and 'action="/setup"' in b and "Chưa có mật khẩu" in b,
   "no password yet: the status page offers to set one (no default)")
ok("<td>127.0.0.1</td>" not in b and "Đăng nhập để xem chi tiết" in b,
   "devices in detail only for the logged-in owner")

for weak in ["Ab1!", "abcdefg1!", "ABCDEFG1!", "Abcdefgh!", "Abcdefgh1", "Ab1!Ab1"]:
    st, h, b = req("POST", "/setup", {"password": weak, "confirm": weak})
    if not ok(st == 400 and "Mật khẩu quá yếu" in b and not cookie_of(h)[0],
              "weak password refused: %s" % weak):
        print("#", st, b[:300])
st, h, b = req("POST", "/setup", {"password": PW, "confirm": PW + "x"})
ok(st == 400 and "không khớp" in b, "two different passwords refused")
st, h, b = req("POST", "/setup", {"password": PW, "confirm": PW}, origin="http://evil.example")
ok(st == 403 and not cookie_of(h)[0], "setup posted from another site (Origin) refused")
st, h, b = req("POST", "/setup", {"password": PW, "confirm": PW}, origin=None,
               extra="Referer: http://evil.example/x\r\n")
ok(st == 403, "setup posted from another site (Referer) refused")
st, h, b = req("POST", "/setup", {"password": PW, "confirm": PW}, origin=None)
ok(st == 403 and not cookie_of(h)[0], "setup with neither Origin nor Referer refused")

# the first password needs the one-time setup code (root's STATE/setup.code)
CODE = web_form.setup_code(clock)
ok(re.fullmatch(r"[2-9A-HJ-NP-Z]{10}", CODE or "") is not None,
   "a setup code of 10 unambiguous characters is waiting (%s)" % CODE)
st, h, b = req("POST", "/setup", {"password": PW, "confirm": PW})
ok(st == 400 and "Thiếu mã cài đặt" in b and not cookie_of(h)[0], "setup without the setup code refused")
wrong = "".join("23456789ABCDEFGHJKLMNPQRSTUVWXYZ"[("23456789ABCDEFGHJKLMNPQRSTUVWXYZ".index(c) + 1) % 32]
                for c in CODE)
st, h, b = req("POST", "/setup", {"code": wrong, "password": PW, "confirm": PW})
ok(st == 403 and "Sai mã cài đặt" in b and not cookie_of(h)[0], "setup with a wrong setup code refused")
st, h, b = req("GET", "/")
ok('action="/setup"' in b and 'name="code"' in b, "still no password: the form asks for the code")

# typed in lower case with a dash, as from a sticker: the same code
typed = CODE[:5].lower() + "-" + CODE[5:].lower()
st, h, b = req("POST", "/setup", {"code": typed, "password": PW, "confirm": PW})
a, raw = cookie_of(h)
ok(st == 303 and a and h.get("location") == ["/"], "strong password set at first use: 303 with a session")
ok(raw and "HttpOnly" in raw and "SameSite=Strict" in raw and "Path=/" in raw,
   "session cookie: HttpOnly, SameSite=Strict, Path=/ (%s)" % (raw or "").split(";", 1)[-1])
st, h, b = req("POST", "/setup", {"code": CODE, "password": "Other#Pass1", "confirm": "Other#Pass1"})
ok(st == 409 and not cookie_of(h)[0], "a second first-use setup, even with the code, is refused: the password stays")
ok(web_form.setup_code(clock) == "", "the setup code is gone once the password is set")

st, h, b = req("GET", "/", cookie=a)
tok = csrf_of(b)
ok(st == 200 and "Bạn đã đăng nhập" in b and "<td>127.0.0.1</td>" in b and tok,
   "logged in: devices in full detail, forms carry a CSRF token")

# a second session (a login), to try its cookie against the first one's token
st, h, _ = req("POST", "/login", {"password": PW})
bck, _ = cookie_of(h)
ok(st == 303 and bck and bck != a, "login with the right password: a second session")

name = "Máy tính của Lan"
st, h, b = req("POST", "/device", {"ip": "127.0.0.1", "name": name}, cookie=a)
ok(st == 403 and "CSRF" in b, "POST without the CSRF token refused")
st, h, b = req("POST", "/device", {"ip": "127.0.0.1", "name": name, "csrf": "0" * 32}, cookie=a)
ok(st == 403 and "CSRF" in b, "POST with a wrong CSRF token refused")
st, h, b = req("POST", "/device", {"ip": "127.0.0.1", "name": name, "csrf": tok}, cookie=bck)
ok(st == 403 and "CSRF" in b, "another session's cookie with this session's token refused")
st, h, b = req("POST", "/device", {"ip": "127.0.0.1", "name": name, "csrf": tok},
               cookie="khien_sid=" + "a" * 32)
ok(st == 403 and "Cần đăng nhập" in b, "a forged session cookie refused")
st, h, b = req("POST", "/device", {"ip": "127.0.0.1", "name": name, "csrf": tok}, cookie=a,
               origin="http://evil.example")
ok(st == 403, "the right token from another Origin refused")
st, h, b = req("GET", "/", cookie=a)
ok(name not in b, "nothing refused was saved")
st, h, b = req("POST", "/device", {"ip": "127.0.0.1", "name": name, "csrf": tok}, cookie=a)
ok(st == 303, "device name set with the session's token")
st, h, b = req("GET", "/", cookie=a)
ok(('value="%s"' % name) in b, "the device's display name is shown (UTF-8)")
st, h, b = req("POST", "/device", {"ip": "127.0.0.1", "name": "<script>x</script>", "csrf": tok}, cookie=a)
st, h, b = req("GET", "/", cookie=a)
ok("<script>x" not in b and "&lt;script&gt;x" in b, "a device name with markup is escaped")
req("POST", "/device", {"ip": "127.0.0.1", "name": name, "csrf": tok}, cookie=a)

st, h, b = req("POST", "/logout", {"csrf": tok}, cookie=a)
_, raw = cookie_of(h)
ok(st == 303 and raw and "Max-Age=0" in raw, "logout clears the cookie")
st, h, b = req("GET", "/", cookie=a)
ok("Bạn đã đăng nhập" not in b and 'action="/login"' in b, "the ended session's cookie no longer works")

# three logins at once: the helper hashes one at a time, the others wait their turn
import threading
res = [None] * 3
def login_at(i):
    st, h, _ = req("POST", "/login", {"password": PW}, src="127.0.0.%d" % (40 + i))
    res[i] = (st, cookie_of(h)[0])
ths = [threading.Thread(target=login_at, args=(i,)) for i in range(3)]
for t in ths:
    t.start()
for t in ths:
    t.join()
ok(all(r and r[0] == 303 and r[1] for r in res) and len({r[1] for r in res}) == 3,
   "three logins at once all log in (none is told the login is unavailable): %s"
   % [r and r[0] for r in res])

def dns_probe(stop, lat):
    """Queries for a cached name every 2 ms until stop is set; latencies (ms) into lat."""
    q = b"\x12\x34\x01\x00\x00\x01\x00\x00\x00\x00\x00\x00\x07example\x03org\x00\x00\x01\x00\x01"
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.settimeout(1)
    while not stop.is_set():
        t = time.perf_counter()
        s.sendto(q, ("127.0.0.1", int(dns)))
        try:
            s.recv(512)
            lat.append((time.perf_counter() - t) * 1000)
        except socket.timeout:
            lat.append(1000.0)
        time.sleep(0.002)


def p99(v):
    v = sorted(v)
    return v[min(len(v) - 1, int(len(v) * 0.99))] if v else -1


import threading
base, during = [], []
stop = threading.Event()
th = threading.Thread(target=dns_probe, args=(stop, base))
th.start()
time.sleep(1)
stop.set()
th.join()

# --- the lockout (724/QĐ-BTTTT): 5 failures within 30 s, DNS probed meanwhile
stop = threading.Event()
th = threading.Thread(target=dns_probe, args=(stop, during))
th.start()
t0 = time.time()
for i in range(5):
    st, h, b = req("POST", "/login", {"password": "Wrong#Pass%d" % i}, src="127.0.0.%d" % (20 + i))
    if not ok(st == 403 and "Sai mật khẩu" in b and not cookie_of(h)[0],
              "wrong password %d (from 127.0.0.%d): refused" % (i + 1, 20 + i)):
        print("#", st, b[:200])
took = (time.time() - t0) / 5
stop.set()
th.join()
ok(during and max(during) < 1000,
   "DNS answers every query while logins are hashed: p99 %.2f ms, max %.2f ms (%d queries; "
   "without logins p99 %.2f ms, max %.2f ms)" % (p99(during), max(during), len(during), p99(base), max(base)))
st, h, b = req("POST", "/login", {"password": PW})
ok(st == 429 and "tạm khóa" in b and not cookie_of(h)[0],
   "after 5 wrong within 30 s (from 5 addresses) even the right password is refused")
t1 = time.time()
ans = subprocess.run(["dig", "+short", "+time=1", "+tries=1", "@127.0.0.1", "-p", dns, "example.org"],
                     capture_output=True, text=True).stdout.strip()
ok(ans.startswith("198.19."), "DNS answers while logins are locked (%.0f ms per hashed login, %.0f ms dig)"
   % (took * 1000, (time.time() - t1) * 1000))
set_clock(299)
st, h, b = req("POST", "/login", {"password": PW})
ok(st == 429, "still locked 299 s later")
set_clock(301)
st, h, b = req("POST", "/login", {"password": PW})
ok(st == 303 and cookie_of(h)[0], "the lock lifts after 5 minutes: the right password logs in")

# 5 failures spread over more than 30 s do not lock
for i in range(4):
    req("POST", "/login", {"password": "Wrong#Pass%d" % i})
set_clock(301 + 31)
st, h, b = req("POST", "/login", {"password": "Wrong#Pass9"})
ok(st == 403, "a 5th failure 31 s after the first: refused, not locked")
st, h, b = req("POST", "/login", {"password": PW})
ok(st == 303, "5 failures over more than 30 s do not lock")

# requests without a body or with a bad one
st, h, b = req("POST", "/login", extra="Content-Length: 5000\r\n")
ok(st == 413, "a POST body over the limit: 413")
st, h, b = req("POST", "/login", extra="Content-Type: text/plain\r\nContent-Length: 0\r\n")
ok(st == 415, "a POST that is not a form: 415")
sys.exit(failed)
