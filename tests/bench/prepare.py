#!/usr/bin/python3
# SPDX-License-Identifier: MIT
"""Build the benchmark inputs from the real lists plus seeded generated names.

usage: prepare.py OUTDIR TARGET_COUNT SHARED_DATA_DIR_OR_EMPTY
Writes OUTDIR/list.txt (plain domains, TARGET_COUNT distinct names: every
valid name of the real lists first, then generated ones), OUTDIR/dnsmasq.conf
(address=/name/), OUTDIR/unbound-zones.conf (local-zone always_nxdomain),
OUTDIR/queries.txt (50% listed names, 50% popular names, each with 0-3
extra leading labels: 2-6 labels in all) and OUTDIR/info.json.
"""
import json
import os
import random
import re
import sys

out, target, shared = sys.argv[1], int(sys.argv[2]), sys.argv[3] if len(sys.argv) > 3 else ""
rng = random.Random(7)
label = re.compile(r"^[a-z0-9_-]{1,63}$")


def valid(n):
    if len(n) > 253 or "." not in n:
        return False
    parts = n.split(".")
    return all(label.match(p) for p in parts) and not parts[-1].isdigit()


def names_of(path):
    for line in open(path, encoding="utf-8", errors="replace"):
        line = line.strip()
        if not line or line[0] in "#!;[":
            continue
        if line.startswith("||"):
            n = line[2:].split("^")[0]
        elif line.startswith("address=/"):
            n = line.split("/")[1]
        elif line.startswith("local-zone:"):
            n = line.split('"')[1].rstrip(".") if '"' in line else ""
        else:
            f = line.split()
            n = f[1] if len(f) > 1 and re.match(r"^[0-9.:]+$", f[0]) else f[0]
        yield n.lower().rstrip(".")


names, real = {}, 0
if shared and os.path.isdir(os.path.join(shared, "blocklists")):
    bl = os.path.join(shared, "blocklists")
    for f in sorted(os.listdir(bl)):
        if f.startswith("LICENSE") or "threat-ip" in f:
            continue
        for n in names_of(os.path.join(bl, f)):
            if valid(n):
                names[n] = 1
    real = len(names)
sys.path.insert(0, os.path.dirname(__file__))
gen = random.Random(1)
syl = ["ba", "be", "bo", "ca", "co", "da", "do", "fa", "ga", "go", "ha", "ho", "ka", "ki", "la",
       "lo", "ma", "mi", "na", "no", "pa", "po", "ra", "ro", "sa", "so", "ta", "to", "va", "vi",
       "xa", "xo", "win", "bet", "play", "shop", "game", "club", "vip", "pro"]
tlds = ["com", "net", "org", "vn", "com.vn", "info", "xyz", "top", "site", "online", "io"]
while len(names) < target:
    w = "".join(gen.choice(syl) for _ in range(gen.randint(2, 4)))
    if gen.random() < 0.5:
        w += str(gen.randint(0, 99999))
    n = w + "." + gen.choice(tlds)
    if gen.random() < 0.25:
        n = gen.choice(["www", "m", "api", "cdn", "ads"]) + "." + n
    names[n] = 1
lst = list(names)[:target]
with open(os.path.join(out, "list.txt"), "w") as f:
    f.write("\n".join(lst) + "\n")
with open(os.path.join(out, "dnsmasq.conf"), "w") as f:
    f.writelines("address=/%s/\n" % n for n in lst)
with open(os.path.join(out, "unbound-zones.conf"), "w") as f:
    f.writelines('local-zone: "%s." always_nxdomain\n' % n for n in lst)

popular = []
top = os.path.join(shared, "traffic", "top-domains-50k.txt") if shared else ""
if top and os.path.exists(top):
    popular = [l.strip().lower() for l in open(top) if valid(l.strip().lower())]
if not popular:
    popular = ["site%d.example%d.com" % (i, i % 97) for i in range(50000)]
prefixes = ["www", "m", "api", "cdn", "img", "mail", "static", "login", "a1", "edge"]
queries = []
for i in range(100000):
    base = rng.choice(lst) if i % 2 == 0 else rng.choice(popular)
    extra = rng.randint(0, 3)
    q = ".".join([rng.choice(prefixes) for _ in range(extra)] + [base])
    if 2 <= q.count(".") + 1 <= 6 and len(q) <= 253:
        queries.append(q)
with open(os.path.join(out, "queries.txt"), "w") as f:
    f.write("\n".join(queries) + "\n")
json.dump({"domains": len(lst), "real": min(real, len(lst)), "generated": max(0, len(lst) - real),
           "queries": len(queries)}, open(os.path.join(out, "info.json"), "w"))
