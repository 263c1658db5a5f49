#!/usr/bin/python3
# SPDX-License-Identifier: MIT
"""Send hostile and unusual DNS messages that dig cannot, and describe the answers.

usage: rawdns.py PORT          runs every named case against 127.0.0.1:PORT (UDP)
Prints one line per case: "NAME: rcode=N flags=0xXXXX qd=N" or "NAME: no answer".
"""
import socket
import struct
import sys


def hdr(flags=0x0100, qd=1, an=0, ns=0, ar=0, qid=0xABCD):
    return struct.pack(">HHHHHH", qid, flags, qd, an, ns, ar)


def name(n):
    return b"".join(bytes([len(l)]) + l.encode() for l in n.split(".")) + b"\0"


Q = name("www.example.com") + struct.pack(">HH", 1, 1)
OPT = b"\0" + struct.pack(">HHIH", 41, 1232, 0, 0)
CASES = [
    ("shorter than a header", b"\x12\x34"),
    ("question cut short", hdr() + name("www.example.com")),
    ("two questions", hdr(qd=2) + Q + Q),
    ("UPDATE opcode", hdr(flags=0x2800) + Q),
    ("pointer loop", hdr() + b"\x03www\xc0\x0c" + struct.pack(">HH", 1, 1)),
    ("forward pointer", hdr() + b"\xc0\x20" + struct.pack(">HH", 1, 1) + b"\0" * 20),
    ("extended label type", hdr() + b"\x43abc\0" + struct.pack(">HH", 1, 1)),
    ("a response, not a query", hdr(flags=0x8100) + Q),
    ("EDNS version 1", hdr(ar=1) + Q + b"\0" + struct.pack(">HHBBHH", 41, 1232, 0, 1, 0, 0)),
    ("two OPT records", hdr(ar=2) + Q + OPT + OPT),
    ("zone transfer", hdr() + name("example.com") + struct.pack(">HH", 252, 1)),
    ("label over 63 octets", hdr() + bytes([64]) + b"a" * 64 + b"\0" + struct.pack(">HH", 1, 1)),
    ("name over 255 octets", hdr() + (b"\x3f" + b"a" * 63) * 4 + b"\0" + struct.pack(">HH", 1, 1)),
    ("answer section in a query", hdr(an=1) + Q),
    ("valid query with EDNS", hdr(ar=1) + Q + OPT),
]
port = int(sys.argv[1])
for label, pkt in CASES:
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.settimeout(0.5)
    s.sendto(pkt, ("127.0.0.1", port))
    try:
        d, _ = s.recvfrom(65535)
        flags = int.from_bytes(d[2:4], "big")
        print("%s: rcode=%d flags=0x%04x qd=%d" % (label, flags & 15, flags, int.from_bytes(d[4:6], "big")))
    except socket.timeout:
        print("%s: no answer" % label)
    s.close()
