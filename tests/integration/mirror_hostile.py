#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
# A hostile bundle mirror on 127.0.0.1 for policy_mirror.sh: answers every
# GET as MODE says, and appends one line per request to LOG.
#   endless  200 with no Content-Length, bytes until the client goes
#   huge     200 with Content-Length 10^12, bytes until the client goes
#   slow     200 with the length of FILE, then its bytes one a second
#   page     404 with no Content-Length, an error page until the client goes
#
# usage: mirror_hostile.py PORT MODE LOG [FILE]
import socket
import sys
import threading
import time

port, mode, log = int(sys.argv[1]), sys.argv[2], sys.argv[3]
body = open(sys.argv[4], "rb").read() if len(sys.argv) > 4 else b""


def serve(c):
    try:
        head = b""
        while b"\r\n\r\n" not in head and len(head) < 8192:
            d = c.recv(4096)
            if not d:
                return
            head += d
        with open(log, "a") as f:
            f.write(head.split(b"\r\n")[0].decode("latin-1") + "\n")
        if mode == "endless":
            c.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: application/octet-stream\r\n\r\n")
            while True:
                c.sendall(b"\0" * 65536)
        elif mode == "page":
            c.sendall(b"HTTP/1.1 404 Not Found\r\nContent-Type: text/html\r\n\r\n")
            while True:
                c.sendall(b"<p>not here</p>" * 1000)
        elif mode == "huge":
            c.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 1000000000000\r\n\r\n")
            while True:
                c.sendall(b"\0" * 65536)
        else:
            c.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n" % len(body))
            for i in range(len(body)):
                c.sendall(body[i:i + 1])
                time.sleep(1)
    except OSError:
        pass
    finally:
        c.close()


s = socket.socket()
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("127.0.0.1", port))
s.listen(16)
while True:
    conn, _ = s.accept()
    threading.Thread(target=serve, args=(conn,), daemon=True).start()
