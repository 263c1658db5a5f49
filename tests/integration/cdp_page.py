#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
# Headless Chromium driven over the DevTools protocol on a pipe
# (--remote-debugging-pipe: NUL-terminated JSON on fds 3 and 4, no
# websocket): log in through the real form by typing into it and
# submitting it, as a person would, then print the rendered DOM of the
# page the browser lands on (or, given THEN_URL, of that page, opened
# after the login with the session's cookie) and save a screenshot.
# usage: cdp_page.py CHROME URL PASSWORD SCREENSHOT.png [RESOLVER_RULES [THEN_URL]]
import base64, json, os, select, subprocess, sys, tempfile, time

chrome, url, password, shot = sys.argv[1:5]
rules = sys.argv[5] if len(sys.argv) > 5 else ""
then = sys.argv[6] if len(sys.argv) > 6 else ""
r_in, w_in = os.pipe()    # chrome reads commands on fd 3
r_out, w_out = os.pipe()  # chrome writes answers on fd 4
prof = tempfile.mkdtemp()


def child():
    # via fresh copies: the pipes may already be fds 3 and 4, and dup2 onto itself keeps close-on-exec
    a, b = os.dup(r_in), os.dup(w_out)
    os.dup2(a, 3)
    os.dup2(b, 4)


p = subprocess.Popen([chrome, "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
                      "--remote-debugging-pipe", "--user-data-dir=" + prof, "--window-size=412,900",
                      "--hide-scrollbars", "--accept-lang=vi-VN,vi"] +
                     (["--host-resolver-rules=" + rules] if rules else []) + ["about:blank"],
                     preexec_fn=child, stdout=subprocess.DEVNULL,
                     stderr=subprocess.DEVNULL, close_fds=False)
os.close(r_in)
os.close(w_out)
buf = b""
seq = 0
events = []  # (method, sessionId) seen while waiting for answers


def receive(deadline):
    """One message from the browser, or None at the deadline."""
    global buf
    while b"\0" not in buf:
        left = deadline - time.time()
        if left <= 0 or not select.select([r_out], [], [], left)[0]:
            return None
        chunk = os.read(r_out, 1 << 20)
        if not chunk:
            raise RuntimeError("the browser closed its pipe")
        buf += chunk
    m, _, buf = buf.partition(b"\0")
    return json.loads(m)


def send(method, params=None, session=None):
    global seq
    seq += 1
    msg = {"id": seq, "method": method, "params": params or {}}
    if session:
        msg["sessionId"] = session
    os.write(w_in, json.dumps(msg).encode() + b"\0")
    deadline = time.time() + 60
    while True:
        d = receive(deadline)
        if d is None:
            raise RuntimeError(method + ": no answer in 60 s")
        if "method" in d:
            events.append((d["method"], d.get("sessionId")))
        elif d.get("id") == seq:
            if "error" in d:
                raise RuntimeError("%s: %s" % (method, d["error"]))
            return d.get("result", {})


def wait_load(session, what):
    """Until the page has loaded: a fixed sleep is too short for a first
    Chromium start on a new machine or a sanitizer build under load."""
    deadline = time.time() + 60
    while True:
        for i, (m, sid) in enumerate(events):
            if m == "Page.loadEventFired" and sid == session:
                del events[: i + 1]
                return
        d = receive(deadline)
        if d is None:
            raise RuntimeError(what + ": the page did not load in 60 s")
        if "method" in d:
            events.append((d["method"], d.get("sessionId")))


try:
    t = send("Target.createTarget", {"url": "about:blank"})["targetId"]
    s = send("Target.attachToTarget", {"targetId": t, "flatten": True})["sessionId"]
    send("Page.enable", None, s)
    events.clear()
    send("Page.navigate", {"url": url}, s)
    wait_load(s, url)
    # the page has no script of its own (its CSP forbids them); the protocol types for a person
    node = send("DOM.querySelector", {"nodeId": send("DOM.getDocument", None, s)["root"]["nodeId"],
                                       "selector": "input[name=password]"}, s)["nodeId"]
    send("DOM.focus", {"nodeId": node}, s)
    send("Input.insertText", {"text": password}, s)
    events.clear()
    send("Input.dispatchKeyEvent", {"type": "keyDown", "key": "Enter", "code": "Enter",
                                    "windowsVirtualKeyCode": 13, "text": "\r"}, s)
    send("Input.dispatchKeyEvent", {"type": "keyUp", "key": "Enter", "code": "Enter",
                                    "windowsVirtualKeyCode": 13}, s)
    wait_load(s, "the login form's answer")
    if then:
        events.clear()
        send("Page.navigate", {"url": then}, s)
        wait_load(s, then)
    root = send("DOM.getDocument", None, s)["root"]["nodeId"]
    print(send("DOM.getOuterHTML", {"nodeId": root}, s)["outerHTML"])
    png = send("Page.captureScreenshot", {"format": "png"}, s)["data"]
    with open(shot, "wb") as f:
        f.write(base64.b64decode(png))
finally:
    try:
        send("Browser.close")
    except Exception:
        pass
    p.kill()
    p.wait()
