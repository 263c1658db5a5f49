#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Kconfig chooses what is built: every option defined in a Kconfig file is
# read by some source file or the Makefile, or guards another option
# (depends on / if), so none sits in menuconfig doing nothing; and every
# CONFIG_ name the code tests is defined (else it is silently 0). Names the
# code defines itself (#define CONFIG_..., the Makefile's CONFIG_MK :=) and
# the placeholder CONFIG_X in comments are not options.
. "$(dirname "$0")/lib.sh"
cd "$KHIEN_TOP" || exit 1
kconfigs="Kconfig $(ls */Kconfig)"
code="agent platform crypto policy lib server tools tests/unit tests/fuzz tests/tools tests/bench"
defined=$(grep -h '^\s*\(menu\)\?config ' $kconfigs | awk '{print $2}' | sort -u)
unused=
for n in $defined; do
	grep -rqw "CONFIG_$n" $code Makefile --include=*.c --include=*.h --include=Makefile 2>/dev/null && continue
	grep -qE "^\s*(depends on|if|select|default).*\b$n\b" $kconfigs && continue
	unused="$unused $n"
done
expect_eq "every Kconfig option is used by the code, the Makefile or another option" "$unused" ""
tested=$(grep -rhoE '\bCONFIG_[A-Z0-9_]+' $code Makefile --include=*.c --include=*.h --include=Makefile |
	sed 's/^CONFIG_//' | sort -u)
local_names=$(grep -rhoE '(#define\s+CONFIG_[A-Z0-9_]+|^CONFIG_[A-Z0-9_]+\s*[:?]?=)' $code Makefile \
	--include=*.c --include=*.h --include=Makefile | grep -oE 'CONFIG_[A-Z0-9_]+' | sed 's/^CONFIG_//')
undefined=
for n in $tested; do
	[ "$n" = X ] && continue
	echo "$local_names" | grep -qx "$n" && continue
	echo "$defined" | grep -qx "$n" || undefined="$undefined $n"
done
expect_eq "every CONFIG_ name in the code is defined in a Kconfig file" "$undefined" ""
done_testing
