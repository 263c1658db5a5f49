#!/usr/bin/python3
# SPDX-License-Identifier: MIT
"""Seeded, reproducible domain names for million-scale benchmarks.

usage: gen_domains.py COUNT SEED > names.txt
Names look like real registrations and their hosts: 2-4 labels built from
syllables and digits under common TLDs, all distinct for a given seed.
"""
import random
import sys

count, seed = int(sys.argv[1]), int(sys.argv[2])
rng = random.Random(seed)
syl = ["ba", "be", "bo", "ca", "co", "da", "do", "fa", "ga", "go", "ha", "ho", "ka", "ki",
       "la", "lo", "ma", "mi", "na", "no", "pa", "po", "ra", "ro", "sa", "so", "ta", "to",
       "va", "vi", "xa", "xo", "win", "bet", "play", "shop", "game", "club", "vip", "pro"]
tlds = ["com", "net", "org", "vn", "com.vn", "info", "xyz", "top", "site", "online", "io",
        "co", "me", "club", "shop", "live", "bet", "win"]
seen = set()
out = sys.stdout
while len(seen) < count:
    w = "".join(rng.choice(syl) for _ in range(rng.randint(2, 4)))
    if rng.random() < 0.4:
        w += str(rng.randint(0, 9999))
    name = w + "." + rng.choice(tlds)
    r = rng.random()
    if r < 0.25:
        name = rng.choice(["www", "m", "api", "cdn", "img", "static", "ads"]) + "." + name
    elif r < 0.3:
        name = "s" + str(rng.randint(1, 99)) + "." + rng.choice(["edge", "node"]) + "." + name
    if name not in seen:
        seen.add(name)
        out.write(name + "\n")
