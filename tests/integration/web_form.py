#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
# A LAN client of khiend's pages for shell tests: logs in as the owner and
# posts forms with the session's CSRF token (or without it, or from another
# Origin, to attack). Prints the HTTP status on the first line, the body after.
# The first password needs the one-time setup code (docs/WEB.md "First
# use"): login reads it from STATE/setup.code, STATE being $KHIEN_STATE_DIR
# or the directory "state" beside STATE_FILE (lib.sh's $T/state).
# usage: web_form.py PORT STATE_FILE login PASSWORD
#        web_form.py PORT STATE_FILE get PATH
#        web_form.py PORT STATE_FILE post PATH [--no-csrf] [--origin URL] [KEY=VALUE ...]
import os, re, signal, socket, sys, urllib.parse

signal.signal(signal.SIGPIPE, signal.SIG_DFL)


def req(port, method, path, form=None, cookie=None, origin="auto", src="127.0.0.1", extra=""):
    """One request to khiend's pages from src: (status, {header: [values]}, body)."""
    body = urllib.parse.urlencode(form).encode() if form is not None else b""
    head = "%s %s HTTP/1.1\r\nHost: 127.0.0.1:%d\r\n" % (method, path, port)
    if origin == "auto":
        origin = "http://127.0.0.1:%d" % port
    if origin:
        head += "Origin: %s\r\n" % origin
    if cookie:
        head += "Cookie: %s\r\n" % cookie
    if form is not None:
        head += "Content-Type: application/x-www-form-urlencoded\r\nContent-Length: %d\r\n" % len(body)
    head += extra + "\r\n"
    s = socket.socket()
    s.bind((src, 0))
    s.settimeout(10)
    s.connect(("127.0.0.1", port))
    s.sendall(head.encode() + body)
    out = b""
    while True:
        b = s.recv(65536)
        if not b:
            break
        out += b
    s.close()
    h, _, b = out.partition(b"\r\n\r\n")
    lines = h.decode("latin-1").split("\r\n")
    status = int(lines[0].split()[1])
    hdrs = {}
    for l in lines[1:]:
        k, _, v = l.partition(":")
        hdrs.setdefault(k.strip().lower(), []).append(v.strip())
    return status, hdrs, b.decode("utf-8", "replace")


def setup_code(near):
    """The setup code khiend made (root reads it, as the installer would), or "" when none."""
    d = os.environ.get("KHIEN_STATE_DIR") or os.path.join(os.path.dirname(os.path.abspath(near)), "state")
    try:
        return open(os.path.join(d, "setup.code")).read().strip()
    except OSError:
        return ""


def main():
    port, state, cmd = int(sys.argv[1]), sys.argv[2], sys.argv[3]

    def R(method, path, form=None, cookie="", origin="auto"):
        return req(port, method, path, form, cookie, origin, extra="Connection: close\r\n")

    def cookie():
        try:
            return open(state).read().strip()
        except OSError:
            return ""

    if cmd == "login":
        pw = sys.argv[4]
        st, h, b = R("POST", "/setup", {"code": setup_code(state), "password": pw, "confirm": pw})
        if st != 303:
            st, h, b = R("POST", "/login", {"password": pw})
        m = re.search(r"khien_sid=([0-9a-f]+)", " ".join(h.get("set-cookie", [])))
        if m:
            open(state, "w").write("khien_sid=" + m.group(1))
        print(st)
    elif cmd == "get":
        st, h, b = R("GET", sys.argv[4], cookie=cookie())
        print(st)
        print(b)
    else:
        path, form, csrf, origin = sys.argv[4], [], True, "auto"
        args = sys.argv[5:]
        while args:
            a = args.pop(0)
            if a == "--no-csrf":
                csrf = False
            elif a == "--origin":
                origin = args.pop(0)
            else:
                k, _, v = a.partition("=")
                form.append((k, v))
        if csrf:
            st, h, b = R("GET", "/", cookie=cookie())
            m = re.search(r'name="csrf" value="([0-9a-f]+)"', b)
            form.insert(0, ("csrf", m.group(1) if m else ""))
        st, h, b = R("POST", path, form, cookie=cookie(), origin=origin)
        print(st, h.get("location", [""])[0])
        print(b)


if __name__ == "__main__":
    main()
