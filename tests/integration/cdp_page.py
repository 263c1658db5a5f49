#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
# Headless Chromium driven over the DevTools protocol on a pipe
# (--remote-debugging-pipe: NUL-terminated JSON on fds 3 and 4, no
# websocket): log in through the real form by typing into it and
# submitting it, as a person would, then print the rendered DOM of the
# page the browser lands on (or, given THEN_URL, of that page, opened
# after the login with the session's cookie) and save a screenshot.
# usage: cdp_page.py CHROME URL PASSWORD SCREENSHOT.png [RESOLVER_RULES [THEN_URL...]]
# Several THEN_URLs are opened in turn, each DOM printed after a line
# "<!-- cdp_page: THEN_URL -->"; "URL|SHOT.png" saves that page's screenshot
# too, and "click:SELECTOR|SHOT.png" clicks the element (a form's button) as
# a mouse would and waits for the answer. The last page goes to SCREENSHOT.png.
# Environment: CDP_WINDOW=W,H (default 412,900); CDP_IGNORE_CERT_ERRORS=1
# for a test server whose CA the browser does not know (never real pages).
import base64, json, os, select, subprocess, sys, tempfile, time

chrome, url, password, shot = sys.argv[1:5]
rules = sys.argv[5] if len(sys.argv) > 5 else ""
thens = sys.argv[6:]
r_in, w_in = os.pipe()    # chrome reads commands on fd 3
r_out, w_out = os.pipe()  # chrome writes answers on fd 4
prof = tempfile.mkdtemp()


def child():
    # via fresh copies: the pipes may already be fds 3 and 4, and dup2 onto itself keeps close-on-exec
    a, b = os.dup(r_in), os.dup(w_out)
    os.dup2(a, 3)
    os.dup2(b, 4)


p = subprocess.Popen([chrome, "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
                      "--remote-debugging-pipe", "--user-data-dir=" + prof,
                      "--window-size=" + os.environ.get("CDP_WINDOW", "412,900"),
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


def shoot(s, path):
    png = send("Page.captureScreenshot", {"format": "png"}, s)["data"]
    with open(path, "wb") as f:
        f.write(base64.b64decode(png))


def click(s, selector):
    root = send("DOM.getDocument", None, s)["root"]["nodeId"]
    node = send("DOM.querySelector", {"nodeId": root, "selector": selector}, s)["nodeId"]
    if not node:
        raise RuntimeError("no element " + selector)
    send("DOM.scrollIntoViewIfNeeded", {"nodeId": node}, s)
    q = send("DOM.getContentQuads", {"nodeId": node}, s)["quads"][0]
    x, y = sum(q[0::2]) / 4, sum(q[1::2]) / 4
    events.clear()
    for kind in ("mousePressed", "mouseReleased"):
        send("Input.dispatchMouseEvent", {"type": kind, "x": x, "y": y, "button": "left",
                                          "clickCount": 1}, s)
    wait_load(s, "the answer to " + selector)


try:
    if os.environ.get("CDP_IGNORE_CERT_ERRORS") == "1":
        send("Security.setIgnoreCertificateErrors", {"ignore": True})
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
    for then in thens:
        target, _, own_shot = then.partition("|")
        if target.startswith("click:"):
            click(s, target[6:])
        else:
            events.clear()
            send("Page.navigate", {"url": target}, s)
            wait_load(s, target)
        if len(thens) > 1:
            print("<!-- cdp_page: %s -->" % target)
            root = send("DOM.getDocument", None, s)["root"]["nodeId"]
            print(send("DOM.getOuterHTML", {"nodeId": root}, s)["outerHTML"])
        if own_shot:
            shoot(s, own_shot)
    if len(thens) <= 1:
        root = send("DOM.getDocument", None, s)["root"]["nodeId"]
        print(send("DOM.getOuterHTML", {"nodeId": root}, s)["outerHTML"])
    shoot(s, shot)
finally:
    try:
        send("Browser.close")
    except Exception:
        pass
    p.kill()
    p.wait()
