#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
# Simulated devices for the staged-rollout test: each a provisioned identity
# (DEVDIR/SERIAL/device.{key,pem}) speaking the device protocol over mutual
# TLS as agent/report.c does, one sync per device per run: check in with
# the version it runs (DEVDIR/SERIAL/version), and when the answer assigns
# a newer one, download it (GET /v1/policy/V, checked against the announced
# sha256), then either apply it (the version file, and a check-in that
# reports it) or, for a serial listed in REJECT, refuse it and upload a
# policy_rejected event as the agent does. A download answered 404 (the
# version withdrawn since the check-in: a halted rollout) is counted as
# withdrawn and tried at the next run. Prints one line per device,
# "SERIAL offered V ran R now N" (V 0: nothing assigned), then a JSON summary.
# usage: fleet_sim.py PORT CA DEVDIR [REJECT_FILE]
import hashlib, http.client, json, os, socket, ssl, sys, time

port, ca, devdir = int(sys.argv[1]), sys.argv[2], sys.argv[3]
reject = set(open(sys.argv[4]).read().split()) if len(sys.argv) > 4 else set()
summary = {"devices": 0, "offered": {}, "applied": 0, "rejected": 0, "withdrawn": 0, "errors": 0}


class Conn(http.client.HTTPSConnection):
    pass


def request(c, method, path, body=None):
    data = json.dumps(body).encode() if body is not None else None
    hdr = {"Content-Type": "application/json"} if data else {}
    c.request(method, path, body=data, headers=hdr)
    r = c.getresponse()
    return r.status, r.read()


def checkin(c, version, seq):
    st, b = request(c, "POST", "/v1/checkin", {
        "firmware": "sim 1.0", "hardware_id": "sim-hw",
        "policy": {"version": version, "root_version": 1},
        "events": {"pending": 0, "next_seq": seq, "dropped": 0}})
    if st != 200:
        raise RuntimeError("check-in: HTTP %d %s" % (st, b[:80]))
    return json.loads(b)


for serial in sorted(os.listdir(devdir)):
    d = os.path.join(devdir, serial)
    if not os.path.isfile(os.path.join(d, "device.pem")):
        continue
    summary["devices"] += 1
    vf, sf = os.path.join(d, "version"), os.path.join(d, "seq")
    version = int(open(vf).read()) if os.path.exists(vf) else 0
    seq = int(open(sf).read()) if os.path.exists(sf) else 1
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.load_verify_locations(ca)
    ctx.load_cert_chain(os.path.join(d, "device.pem"), os.path.join(d, "device.key"))
    offered, ran = 0, version
    try:
        c = Conn("127.0.0.1", port, context=ctx, timeout=20)
        a = checkin(c, version, seq)
        pol = a.get("policy") or {}
        offered = int(pol.get("version", 0))
        if offered > version:
            st, bundle = request(c, "GET", pol["url"])
            if st == 404:
                # withdrawn between the check-in and the download (a rollout halted): next time
                summary["withdrawn"] += 1
            elif st != 200 or hashlib.sha256(bundle).hexdigest() != pol["sha256"]:
                raise RuntimeError("download of %d: HTTP %d" % (offered, st))
            elif serial in reject:
                st, b = request(c, "POST", "/v1/events", {"events": [{
                    "seq": seq, "time": int(time.time()), "type": "policy_rejected",
                    "severity": "high",
                    "data": {"version": offered, "sha256": pol["sha256"],
                             "reason": "simulated: the bundle breaks this device"}}],
                    "dropped": 0})
                if st != 200 or json.loads(b).get("acked") != seq:
                    raise RuntimeError("events: HTTP %d %s" % (st, b[:80]))
                seq += 1
                summary["rejected"] += 1
            else:
                version = offered
                checkin(c, version, seq)
                summary["applied"] += 1
        c.close()
    except (OSError, ssl.SSLError, RuntimeError, ValueError, KeyError) as e:
        summary["errors"] += 1
        print("# %s: %s" % (serial, e), file=sys.stderr)
    open(vf, "w").write(str(version))
    open(sf, "w").write(str(seq))
    summary["offered"][str(offered)] = summary["offered"].get(str(offered), 0) + 1
    print("%s offered %d ran %d now %d" % (serial, offered, ran, version))
print(json.dumps(summary, sort_keys=True))
