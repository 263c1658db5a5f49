#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
# Test data for the dashboard (server_dashboard.sh), sent as devices send
# it: over mutual TLS with each provisioned identity (DEVDIR/SERIAL/), a
# check-in (firmware, reported policy version, health counters), an event
# upload and an audit upload, per the plan in PLAN below. Some fields are
# hostile HTML, as a device that is not our agent could send. Prints one
# line per request: "SERIAL PATH STATUS".
# usage: dash_data.py PORT CA DEVDIR
import hashlib, http.client, json, os, ssl, sys, time

port, ca, devdir = int(sys.argv[1]), sys.argv[2], sys.argv[3]
now = int(time.time())
HOSTILE_FW = "<b>fw</b><script>alert(1)</script>"
HOSTILE_NAME = "<img src=x onerror=alert(1)>.example"


def blocked(seq, sev, cat, name, client):
    return {"seq": seq, "time": now - 60 + seq, "type": "dns_blocked", "severity": sev,
            "data": {"name": name, "qtype": "A", "category": cat, "rule": name, "client": client}}


def audit(results):
    checks = [{"id": c, "result": r, "severity": s, "evidence": "ev " + c, "changed_at": now}
              for c, s, r in zip(("ssh-root-login", "telnet-off", "ntp-set"),
                                 ("critical", "high", "low"), results)]
    return {"policy": {"id": "baseline", "version": 1}, "full": True, "checks": checks,
            "digest": hashlib.sha256(json.dumps(checks).encode()).hexdigest()}


# serial: (firmware, policy version, events, audit results or None)
PLAN = {
    "SN-D-01": ("khiend 1.2.0", 7,
                [blocked(1, "high", "malware", "evil-c2.example", "c1aaaa0000000001"),
                 blocked(2, "high", "malware", "evil-c2.example", "c1aaaa0000000001"),
                 blocked(3, "high", "malware", "c2-other.example", "c1aaaa0000000001")] +
                [blocked(s, "low", "ads", "ads%d.example" % s, "c1aaaa0000000001")
                 for s in range(4, 64)],
                ("pass", "pass", "na")),
    "SN-D-02": ("khiend 1.2.0", 7,
                [blocked(1, "medium", "phishing", "phish.example", "c2bbbb0000000002"),
                 blocked(2, "medium", "phishing", "phish.example", "c2bbbb0000000002")],
                ("pass", "pass", "na")),
    "SN-D-03": ("khiend 1.2.0", 7,
                [{"seq": 1, "time": now - 30, "type": "firmware_mismatch", "severity": "critical",
                  "data": {"reason": "image hash differs"}},
                 {"seq": 2, "time": now - 20, "type": "file_changed", "severity": "high",
                  "data": {"name": "/etc/passwd", "reason": "content"}}],
                ("fail", "pass", "na")),
    "SN-D-04": ("khiend 1.1.0", 6, [], ("fail", "fail", "na")),
    "SN-D-05": (HOSTILE_FW, 6,
                [blocked(1, "high", "malware", HOSTILE_NAME, "<b>c5</b>")], None),
}


def request(c, method, path, body):
    c.request(method, path, body=json.dumps(body).encode(),
              headers={"Content-Type": "application/json"})
    r = c.getresponse()
    r.read()
    return r.status


for serial, (fw, pv, events, results) in sorted(PLAN.items()):
    d = os.path.join(devdir, serial)
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.load_verify_locations(ca)
    ctx.load_cert_chain(os.path.join(d, "device.pem"), os.path.join(d, "device.key"))
    c = http.client.HTTPSConnection("127.0.0.1", port, context=ctx, timeout=20)
    st = request(c, "POST", "/v1/checkin", {
        "firmware": fw, "hardware_id": "hw-dash", "policy": {"version": pv, "root_version": 1},
        "status": {"uptime_s": 1234, "queries": 100 + len(events), "blocked": len(events)}})
    print(serial, "/v1/checkin", st)
    if events:
        print(serial, "/v1/events", request(c, "POST", "/v1/events", {"events": events, "dropped": 0}))
    if results:
        print(serial, "/v1/audit", request(c, "POST", "/v1/audit", audit(results)))
    c.close()
