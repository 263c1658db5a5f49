#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
#
# Install the Debian packages a task needs, only when some are missing.
# usage: scripts/deps.sh [build|test|bench|fuzz|m32|all]
# Called by the Makefile before configuring, testing, benchmarking and
# fuzzing, so a fresh Debian 12 machine needs nothing else. Needs root (or
# sudo) only when something is actually missing.
set -euo pipefail

build=(make gcc libc6-dev libcrypt-dev python3 python3-kconfiglib libmbedtls-dev libcjson-dev
       liblwip-dev libsqlite3-dev pkg-config)
test=("${build[@]}" dnsutils dnsperf iproute2 procps passwd util-linux
      python3-cryptography)
bench=("${test[@]}" dnsperf dnsmasq-base unbound time bc valgrind)
fuzz=("${build[@]}" clang llvm)
m32=("${build[@]}" gcc-multilib)
all=("${bench[@]}" clang llvm clang-format gcc-multilib)

what=${1:-all}
case "$what" in
build) want=("${build[@]}") ;;
test) want=("${test[@]}") ;;
bench) want=("${bench[@]}") ;;
fuzz) want=("${fuzz[@]}") ;;
m32) want=("${m32[@]}") ;;
all) want=("${all[@]}") ;;
-h|--help) sed -n '3,8p' "$0"; exit 0 ;;
*) echo "deps.sh: unknown set '$what' (build|test|bench|fuzz|m32|all)" >&2; exit 2 ;;
esac

missing=()
for p in "${want[@]}"; do
	# one line per installed architecture (libfoo:amd64 and libfoo:armhf): any will do
	dpkg-query -W -f='${Status}\n' "$p" 2>/dev/null | grep -qx "install ok installed" ||
		missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0

echo "deps.sh: installing missing Debian packages: ${missing[*]}" >&2
sudo=""
if [ "$(id -u)" -ne 0 ]; then
	if command -v sudo >/dev/null; then sudo="sudo"; else
		echo "deps.sh: not root and no sudo; install as root: apt-get install ${missing[*]}" >&2
		exit 1
	fi
fi
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get update -qq >&2
$sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >&2
