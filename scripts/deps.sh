#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
#
# Install the Debian packages a task needs, only when some are missing.
# usage: scripts/deps.sh [build|test|bench|fuzz|m32|all|cross [ARCH...]]
# Called by the Makefile before configuring, testing, benchmarking and
# fuzzing, so a fresh Debian 12 machine needs nothing else. Needs root (or
# sudo) only when something is actually missing.
set -euo pipefail

build=(make gcc libc6-dev libcrypt-dev python3 python3-kconfiglib libmbedtls-dev libcjson-dev
       liblwip-dev libsqlite3-dev libpq-dev pkg-config)
test=("${build[@]}" dnsutils dnsperf iproute2 procps passwd util-linux nftables shellcheck
      python3-cryptography postgresql chromium)
bench=("${test[@]}" dnsperf dnsmasq-base unbound time bc valgrind)
fuzz=("${build[@]}" clang llvm)
# 32-bit x86 through Debian's i686 cross compiler, not gcc-multilib: the
# two conflict, and gcc-multilib would remove the cross compilers below.
m32=("${build[@]}" gcc-i686-linux-gnu libc6-dev-i386-cross)
all=("${bench[@]}" clang llvm clang-format gcc-i686-linux-gnu libc6-dev-i386-cross)

# cross ARCH...: the target's compiler and C library (cross packages), its
# mbedTLS, cJSON, libcrypt and lwIP (multiarch; test-cross runs the target's lwIP agent), and qemu-user with binfmt_misc
# so that the target's programs run as they are (no -L: the multiarch libc
# is installed). Default: every architecture make test-cross knows.
cross_archs=(mipsel armhf arm64 s390x)
triplet() {
	case $1 in
	mipsel) echo mipsel-linux-gnu ;; armhf) echo arm-linux-gnueabihf ;;
	arm64) echo aarch64-linux-gnu ;; s390x) echo s390x-linux-gnu ;;
	*) echo "deps.sh: unknown cross architecture '$1' (${cross_archs[*]})" >&2; exit 2 ;;
	esac
}
qemu_name() {
	case $1 in mipsel) echo mipsel ;; armhf) echo arm ;; arm64) echo aarch64 ;; s390x) echo s390x ;; esac
}

what=${1:-all}
case "$what" in
build) want=("${build[@]}") ;;
test) want=("${test[@]}") ;;
bench) want=("${bench[@]}") ;;
fuzz) want=("${fuzz[@]}") ;;
m32) want=("${m32[@]}") ;;
all) want=("${all[@]}") ;;
cross)
	shift
	[ $# -gt 0 ] || set -- "${cross_archs[@]}"
	archs=("$@")
	want=(qemu-user-static binfmt-support)
	for a in "${archs[@]}"; do
		want+=("gcc-$(triplet "$a")" "libc6-dev-$a-cross" "libc6:$a" "libmbedtls-dev:$a"
		       "libcjson-dev:$a" "libcrypt-dev:$a" "liblwip-dev:$a")
	done
	;;
-h|--help) sed -n '3,8p' "$0"; exit 0 ;;
*) echo "deps.sh: unknown set '$what' (build|test|bench|fuzz|m32|all|cross)" >&2; exit 2 ;;
esac

# binfmt_misc: mounted and the target's qemu handler enabled (after any install)
binfmt() {
	local q
	[ -e /proc/sys/fs/binfmt_misc/register ] ||
		$sudo mount -t binfmt_misc binfmt_misc /proc/sys/fs/binfmt_misc
	for a in "${archs[@]}"; do
		q=qemu-$(qemu_name "$a")
		[ -e "/proc/sys/fs/binfmt_misc/$q" ] || $sudo update-binfmts --enable "$q"
	done
}
sudo=""
if [ "$(id -u)" -ne 0 ] && command -v sudo >/dev/null; then sudo="sudo"; fi

missing=()
if [ "$what" = cross ]; then
	for a in "${archs[@]}"; do
		dpkg --print-foreign-architectures | grep -qx "$a" && continue
		echo "deps.sh: adding Debian architecture $a" >&2
		$sudo dpkg --add-architecture "$a"
	done
fi
for p in "${want[@]}"; do
	# one line per installed architecture (libfoo:amd64 and libfoo:armhf): any will do
	dpkg-query -W -f='${Status}\n' "$p" 2>/dev/null | grep -qx "install ok installed" ||
		missing+=("$p")
done
if [ ${#missing[@]} -eq 0 ]; then
	[ "$what" = cross ] && binfmt
	exit 0
fi

echo "deps.sh: installing missing Debian packages: ${missing[*]}" >&2
if [ "$(id -u)" -ne 0 ]; then
	if [ -z "$sudo" ]; then
		echo "deps.sh: not root and no sudo; install as root: apt-get install ${missing[*]}" >&2
		exit 1
	fi
fi
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get update -qq >&2
$sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >&2
[ "$what" = cross ] && binfmt
exit 0
