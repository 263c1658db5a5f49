#!/usr/bin/python3
# SPDX-License-Identifier: MIT
"""Kconfig front end for the Khien build (kconfiglib).

Kconfig is the single source of build-time truth: this script turns .config
into the C header (CONFIG_* macros) and the make fragment that the Makefile
includes, and implements the defconfig/savedefconfig/menuconfig targets.

usage: kconfig.py defconfig FILE | olddefconfig | savedefconfig OUT |
       menuconfig | genconfig HEADER MAKEFRAG
"""
import os
import sys

try:
    import kconfiglib
except ImportError:
    sys.exit("kconfig.py: python3-kconfiglib is missing; run scripts/deps.sh")

KCONFIG = "Kconfig"
CONFIG = os.environ.get("KCONFIG_CONFIG", ".config")


def load(cfg=CONFIG):
    kconf = kconfiglib.Kconfig(KCONFIG, warn_to_stderr=True)
    if cfg and os.path.exists(cfg):
        kconf.load_config(cfg)
    return kconf


def write_if_changed(path, text):
    """Keep mtimes stable so an unchanged config does not rebuild the tree."""
    try:
        with open(path) as f:
            if f.read() == text:
                return
    except OSError:
        pass
    os.makedirs(os.path.dirname(path) or ".", exist_ok=True)
    tmp = path + ".tmp"
    with open(tmp, "w") as f:
        f.write(text)
    os.replace(tmp, path)


def make_fragment(kconf):
    lines = ["# Generated from .config by scripts/kconfig.py; do not edit.\n"]
    for sym in kconf.unique_defined_syms:
        val = sym.str_value
        if sym.type in (kconfiglib.BOOL, kconfiglib.TRISTATE):
            if val == "n":
                continue
        elif not val and sym.type not in (kconfiglib.STRING,):
            continue
        if sym.type == kconfiglib.STRING:
            val = val.replace("$", "$$")
        lines.append("CONFIG_%s := %s\n" % (sym.name, val))
    return "".join(lines)


def main(argv):
    if len(argv) < 2:
        sys.exit(__doc__)
    cmd = argv[1]
    if cmd == "defconfig" and len(argv) == 3:
        if not os.path.exists(argv[2]):
            sys.exit("kconfig.py: no such defconfig: %s" % argv[2])
        kconf = load(None)
        kconf.load_config(argv[2])
        print(kconf.write_config(CONFIG))
    elif cmd == "olddefconfig":
        kconf = load()
        print(kconf.write_config(CONFIG))
    elif cmd == "savedefconfig" and len(argv) == 3:
        kconf = load()
        print(kconf.write_min_config(argv[2]))
    elif cmd == "menuconfig":
        import menuconfig
        os.environ.setdefault("KCONFIG_CONFIG", CONFIG)
        menuconfig.menuconfig(load())
    elif cmd == "genconfig" and len(argv) == 4:
        kconf = load()
        tmp = argv[2] + ".new"
        os.makedirs(os.path.dirname(argv[2]) or ".", exist_ok=True)
        kconf.write_autoconf(tmp)
        with open(tmp) as f:
            header = f.read()
        os.unlink(tmp)
        write_if_changed(argv[2], header)
        with open(argv[3], "w") as f:  # always: it is the stamp make checks
            f.write(make_fragment(kconf))
    else:
        sys.exit(__doc__)


if __name__ == "__main__":
    main(sys.argv)
