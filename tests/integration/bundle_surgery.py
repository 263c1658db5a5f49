#!/usr/bin/python3
# SPDX-License-Identifier: MIT
"""Byte surgery on Khien bundles for the attack suite.

usage: bundle_surgery.py OP IN OUT [ARG]
  flip-header | flip-manifest-version | flip-sig | flip-component   change one byte in a region
  truncate N          drop the last N bytes
  splice OTHER        this bundle's header, manifest and signatures with OTHER's component bytes
  noncanonical        add a space to the manifest (and fix the header's length)
"""
import struct
import sys

op, src, dst = sys.argv[1:4]
d = bytearray(open(src, "rb").read())
m, s = struct.unpack_from("<II", d, 12)
man = (24, 24 + m)
sig = (24 + m, 24 + m + s)
comp = 24 + m + s
if op == "flip-header":
    d[8] ^= 0x01
elif op == "flip-manifest-version":
    i = d.index(b'"version":', man[0]) + len('"version":')
    d[i] = ord("9") if d[i] != ord("9") else ord("8")
elif op == "flip-sig":
    i = d.index(b'"sig":"', sig[0]) + 20
    d[i] = ord("0") if d[i] != ord("0") else ord("1")
elif op == "flip-component":
    d[comp + (len(d) - comp) // 2] ^= 0x40
elif op == "truncate":
    d = d[: len(d) - int(sys.argv[4])]
elif op == "splice":
    o = open(sys.argv[4], "rb").read()
    om, os_ = struct.unpack_from("<II", o, 12)
    other = o[24 + om + os_:]
    need = len(d) - comp
    other = (other + b"\0" * need)[:need]
    d = d[:comp] + other
elif op == "noncanonical":
    d = d[:25] + b" " + d[25:]
    struct.pack_into("<I", d, 12, m + 1)
else:
    sys.exit("unknown op " + op)
open(dst, "wb").write(bytes(d))
