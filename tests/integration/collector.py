#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
# A syslog collector for the forwarding tests: UDP (one message per
# datagram, RFC 5426) or TCP (octet counting, RFC 6587) on 127.0.0.1:PORT;
# each message is appended to OUT as one line of hex, so a test sees the
# exact bytes. A TCP frame that is not "LEN SP MSG" is written as "BAD".
# OUT.ready appears once it listens.
# usage: collector.py udp|tcp PORT OUT
import socket
import sys
import threading

proto, port, out = sys.argv[1], int(sys.argv[2]), sys.argv[3]
lock = threading.Lock()


def record(msg):
    with lock, open(out, "a") as f:
        f.write(msg.hex() + "\n")


def tcp_client(c):
    buf = b""
    while True:
        d = c.recv(65536)
        if not d:
            return
        buf += d
        while True:
            sp = buf.find(b" ")
            if sp < 0:
                if len(buf) > 8:
                    record(b"BAD")
                    return
                break
            if not buf[:sp].isdigit():
                record(b"BAD")
                return
            n = int(buf[:sp])
            if len(buf) < sp + 1 + n:
                break
            record(buf[sp + 1:sp + 1 + n])
            buf = buf[sp + 1 + n:]


if proto == "udp":
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.bind(("127.0.0.1", port))
    open(out + ".ready", "w").close()
    while True:
        record(s.recv(65536))
else:
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind(("127.0.0.1", port))
    s.listen(8)
    open(out + ".ready", "w").close()
    while True:
        c, _ = s.accept()
        threading.Thread(target=tcp_client, args=(c,), daemon=True).start()
