#!/usr/bin/python3
# SPDX-License-Identifier: MIT
"""Byte surgery on Khien bundles for the attack suite.

usage: bundle_surgery.py OP IN OUT [ARG]
  flip-header | flip-manifest-version | flip-sig | flip-component   change one byte in a region
  truncate N          drop the last N bytes
  splice OTHER        this bundle's header, manifest and signatures with OTHER's component bytes
  noncanonical        add a space to the manifest (and fix the header's length)
  rename OLD NEW KEY.key...   rename component OLD to NEW (Python escapes: 'a\\x00b'),
                      the manifest re-encoded canonically and re-signed with the keys
  unbound-reset       mark the manifest as a reset with no replaces/epoch, as older tools
                      made them (signatures left as they are)

On a policy slot of a device's state directory (IN = OUT = the slot directory),
as an attacker who can write the state directory would:
  slot-install BUNDLE SLOT     a whole bundle's envelope and components into SLOT (IN is BUNDLE)
  slot-unsigned SLOT SLOT NAME=FILE   component NAME := FILE, manifest := the bare manifest
                               with its length and SHA-256 recomputed (no signatures)
  slot-forge SLOT SLOT NAME=FILE      the same, kept in the envelope with the old signatures
  slot-strip SLOT SLOT         the envelope with an empty signature list
  slot-sigs SLOT SLOT OTHER    the envelope with the signatures of bundle OTHER
"""
import hashlib
import json
import os
import struct
import sys

op, src, dst = sys.argv[1:4]


def canon(obj):
    return json.dumps(obj, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def envelope(man, sigs):
    return b"KHIENBDL" + struct.pack("<IIII", 1, len(man), len(sigs), 0) + man + sigs


def canon_str(t):
    out = ['"']
    for ch in t:
        if ch in '"\\':
            out.append("\\" + ch)
        elif ord(ch) < 0x20:
            out.append("\\u%04x" % ord(ch))
        else:
            out.append(ch)
    return "".join(out) + '"'


def canon_bytes(obj):
    """Canonical JSON as docs/POLICY.md defines it (control characters as \\u00XX)."""
    if isinstance(obj, dict):
        return "{" + ",".join(canon_str(k) + ":" + canon_bytes(obj[k]) for k in sorted(obj)) + "}"
    if isinstance(obj, list):
        return "[" + ",".join(canon_bytes(v) for v in obj) + "]"
    if isinstance(obj, str):
        return canon_str(obj)
    return json.dumps(obj)


def sign(man, keyfiles):
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.asymmetric import ec, utils

    digest = hashlib.sha256(b"khien-bundle-v1\0" + man).digest()
    sigs = []
    for f in keyfiles:
        k = json.load(open(f))
        priv = ec.derive_private_key(int(k["private"], 16), ec.SECP256R1())
        der = priv.sign(digest, ec.ECDSA(utils.Prehashed(hashes.SHA256())))
        r, s_ = utils.decode_dss_signature(der)
        sigs.append({"keyid": k["keyid"], "sig": "%064x%064x" % (r, s_)})
    return canon_bytes(sigs).encode()


def split(b):
    m, s = struct.unpack_from("<II", b, 12)
    return b[24 : 24 + m], b[24 + m : 24 + m + s], b[24 + m + s :]


if op.startswith("slot-"):
    if op == "slot-install":
        man, sigs, rest = split(open(src, "rb").read())
        for c in json.loads(man)["components"]:
            if not c["name"].startswith("root."):
                open(os.path.join(dst, c["name"]), "wb").write(rest[: c["length"]])
            rest = rest[c["length"] :]
        open(os.path.join(dst, "manifest"), "wb").write(envelope(man, sigs))
        sys.exit(0)
    man, sigs, _ = split(open(os.path.join(src, "manifest"), "rb").read())
    if op in ("slot-unsigned", "slot-forge"):
        name, path = sys.argv[4].split("=", 1)
        data = open(path, "rb").read()
        m = json.loads(man)
        for c in m["components"]:
            if c["name"] == name:
                c["length"], c["sha256"] = len(data), hashlib.sha256(data).hexdigest()
        open(os.path.join(dst, name), "wb").write(data)
        man = canon(m)
        out = man if op == "slot-unsigned" else envelope(man, sigs)
    elif op == "slot-strip":
        out = envelope(man, b"[]")
    elif op == "slot-sigs":
        out = envelope(man, split(open(sys.argv[4], "rb").read())[1])
    else:
        sys.exit("unknown op " + op)
    open(os.path.join(dst, "manifest"), "wb").write(out)
    sys.exit(0)

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
elif op == "rename":
    old, new = sys.argv[4], sys.argv[5].encode().decode("unicode_escape")
    man, sigs, rest = split(bytes(d))
    m = json.loads(man)
    for c in m["components"]:
        if c["name"] == old:
            c["name"] = new
    man = canon_bytes(m).encode()
    d = envelope(man, sign(man, sys.argv[6:])) + rest
elif op == "unbound-reset":
    man, sigs, rest = split(bytes(d))
    m = json.loads(man)
    m["reset"] = True
    m.pop("replaces", None)
    m.pop("epoch", None)
    d = envelope(canon(m), sigs) + rest
elif op == "noncanonical":
    d = d[:25] + b" " + d[25:]
    struct.pack_into("<I", d, 12, m + 1)
else:
    sys.exit("unknown op " + op)
open(dst, "wb").write(bytes(d))
