#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
# Hold many idle TLS connections to khien-server, as a client that wants to
# take every slot would: open N connections one after another (handshake
# done, then nothing sent, or only the bytes of the file SEND: the start of
# an upload that never ends), write how many opened to READY, wait until
# the file UNTIL exists (60 s at most), then print how many the server
# still keeps open ("open K of N") and exit.
#
# usage: tls_hold.py PORT CA N READY UNTIL [CERT KEY [SEND]]
import os
import socket
import ssl
import sys
import time

port, ca, n, ready, until = int(sys.argv[1]), sys.argv[2], int(sys.argv[3]), sys.argv[4], sys.argv[5]
ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
ctx.load_verify_locations(ca)
if len(sys.argv) > 7:
    ctx.load_cert_chain(sys.argv[6], sys.argv[7])
send = open(sys.argv[8], "rb").read() if len(sys.argv) > 8 else b""
conns, failed = [], 0
for _ in range(n):
    try:
        s = socket.create_connection(("127.0.0.1", port), timeout=5)
        t = ctx.wrap_socket(s, server_hostname="127.0.0.1")
        t.sendall(send)
        conns.append(t)
    except (OSError, ssl.SSLError):
        failed += 1
with open(ready + ".tmp", "w") as f:
    f.write("opened %d of %d\n" % (len(conns), n))
os.rename(ready + ".tmp", ready)
end = time.time() + 60
while not os.path.exists(until) and time.time() < end:
    time.sleep(0.05)
alive = 0
for t in conns:
    t.setblocking(False)
    try:
        alive += 1 if t.recv(1) else 0  # data: still open (not expected)
    except ssl.SSLWantReadError:
        alive += 1  # nothing to read and not closed
    except (OSError, ssl.SSLError):
        pass  # closed or reset by the server
print("open %d of %d" % (alive, n))
