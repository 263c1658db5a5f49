#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# The lwIP build of khiend on lwIP's real stack: a network namespace with a
# tap device (198.18.1.1/24 on the namespace side), the agent attached to it
# through lwIP's tapif as 198.18.1.2, and real dig queries from the
# namespace: a blocked name gets the blocked answer, an allowed one is
# forwarded by lwIP to a test upstream in the namespace. Then the same
# harness with a provisioned identity: the agent checks in with khien-server
# (in the namespace) over mutual TLS across lwIP, downloads, verifies and
# applies the signed policy, and its security events reach the server.
# Skipped only when tap devices or namespaces are unavailable.
. "$(dirname "$0")/lib.sh"
P=$KHIEN_BUILD/khien-policy
LK=${KHIEN_LWIP_AGENT:-$KHIEN_BUILD/lwip/khiend} # a cross build: tests/cross.sh
L=$FIX/lists
NS=khien-lwip-$$

if [ ! -c /dev/net/tun ] || [ "$(id -u)" != 0 ] || ! ip netns add $NS 2>/dev/null; then
	skip "lwIP agent on a tap device" "needs root, /dev/net/tun and network namespaces"
	done_testing
fi
cleanup_ns() { cleanup_pids; ip netns del $NS 2>/dev/null; rm -rf "$T"; }
trap cleanup_ns EXIT
[ -n "${KEEP_T:-}" ] && trap "cleanup_pids; ip netns del $NS 2>/dev/null; echo kept $T" EXIT
[ -x "$LK" ] || { fail "the lwIP build exists ($LK: make lwip-agent)"; done_testing; }
N() { ip netns exec $NS "$@"; }
N ip link set lo up
N ip tuntap add dev khtap0 mode tap
# Debian's liblwip overruns its pool buffers (588 bytes on 32-bit targets) on
# larger tap frames (platform/lwip/host/main.c refuses an MTU over 574)
N ip link set khtap0 mtu 574
N ip addr add 198.18.1.1/24 dev khtap0
N ip link set khtap0 up
expect_eq "the namespace's only addresses: loopback and 198.18.1.1; no default route" \
	"$(N ip -4 -o addr | awk '{print $2, $4}' | sort | tr '\n' ' ')$(N ip -4 route | grep -c default)" "khtap0 198.18.1.1/24 lo 127.0.0.1/8 0"

# a test upstream inside the namespace
ip netns exec $NS "$KHIEN_BUILD/tests/khien-testdns" --listen 198.18.1.1:5353 --id 7 >"$T/up.log" 2>&1 &
PIDS+=($!)

# --- 1. DNS filtering over lwIP, index from the flash store
"$P" compile -q -o $T/idx --list malware=$L/malware.hosts --list gambling=$L/gambling.txt >/dev/null 2>&1
lwip_start() { # FLASH ARGS...: start the lwIP khiend in the namespace, wait until it answers DNS
	local flash=$1
	shift
	ip netns exec $NS "$LK" --lwip-tap khtap0 --lwip-addr 198.18.1.2/24 --lwip-gw 198.18.1.1 \
		--lwip-flash "$flash" --lwip-flash-mb 16 -f --user "" --state-dir /state \
		--listen 198.18.1.2:53 --upstream 198.18.1.1:5353 "$@" >>"$T/lwip.log" 2>&1 &
	LPID=$!
	PIDS+=($LPID)
	for _ in $(seq 100); do
		N dig +time=1 +tries=1 @198.18.1.2 ready.example >/dev/null 2>&1 && return 0
		kill -0 $LPID 2>/dev/null || break
		sleep 0.1
	done
	echo "# lwIP khiend did not answer:"; sed 's/^/#   /' "$T/lwip.log" | tail -20; return 1
}
lwip_start $T/flash1.img --lwip-install /etc/khien/blocklist.idx=$T/idx --index /etc/khien/blocklist.idx ||
	{ fail "lwIP khiend starts"; done_testing; }
ok "lwIP khiend answers on 198.18.1.2:53"
grep -q "lwIP 2.1" "$T/lwip.log" && ok "it runs on lwIP ($(grep -o 'lwIP [0-9.]*' $T/lwip.log | head -1))" || fail "lwIP banner"
D() { N dig +time=2 +tries=2 @198.18.1.2 "$@"; }
D malware-c2.example > $T/d1
expect_eq "a blocked name gets the blocked answer through lwIP" "$(grep -o 'status: [A-Z]*' $T/d1) $(grep -o 'EDE: 15' $T/d1)" "status: NXDOMAIN EDE: 15"
expect_eq "an allowed name is forwarded by lwIP to the upstream and answered" "$(D +short example.org)" "198.19.7.177"
expect_eq "over TCP too" "$(D +tcp +short example.org)" "198.19.7.177"
expect_eq "many queries in a row" "$(for i in $(seq 30); do D +short q$i.example.org; done | grep -c '^198\.19\.7\.')" "30"
kill $LPID; wait $LPID 2>/dev/null

# --- 2. signed policy and reporting over lwIP: khien-server in the namespace
PORT=$((8400 + RANDOM % 500))
S=$T/srv
"$SRV" init --dir $S --url "https://198.18.1.1:$PORT" >"$T/init.log" 2>&1 || { fail "server init"; done_testing; }
# one request per connection: the agent reconnects between check-in, events
# and download, which over lwIP means waiting for each connect to complete
python3 - "$S/server.json" <<'PY'
import json, sys
c = json.load(open(sys.argv[1])); c["max_requests_per_connection"] = 1
json.dump(c, open(sys.argv[1], "w"))
PY
"$SRV" provision --dir $S --device LWIP-GW-1 -o $T/dev >/dev/null || fail "provision"
python3 - "$T/dev/khiend.json" <<'PY'
import json, sys
c = json.load(open(sys.argv[1])); c["report"]["interval_s"] = 10
json.dump(c, open(sys.argv[1], "w"))
PY
# the gateway baseline: fact rules, evaluated against what the board reports
"$P" audit compile "$KHIEN_TOP/policy/rules/lwip-gateway.json" -o $T/audit.rules >/dev/null || fail "audit compile"
"$P" bundle --key $S/dev-keys/policy.key --version 1 --expires +30d --component blocklist=$T/idx \
	--component audit=$T/audit.rules -o $T/p1 >/dev/null
"$SRV" publish --dir $S $T/p1 >/dev/null || fail "publish"
ip netns exec $NS "$SRV" run --dir $S >"$T/server.log" 2>&1 &
SPID=$!
PIDS+=($SPID)
inst=()
for f in khiend.json device.pem device.key server-ca.pem root.json; do inst+=(--lwip-install /etc/khien/$f=$T/dev/$f); done
lwip_start $T/flash2.img "${inst[@]}" -c /etc/khien/khiend.json --lwip-facts "$FIX/audit/lwip-factory.facts" ||
	{ fail "lwIP khiend with an identity"; done_testing; }
ok "lwIP khiend starts with a provisioned identity from its flash store"
pv() { "$SRV" devices --dir $S | json_get /dev/stdin 'd["policy_version"]'; }
for _ in $(seq 150); do [ "$(pv)" = "1" ] && break; sleep 0.2; done
expect_eq "it checks in over TLS across lwIP and applies the signed policy" "$(pv)" "1"
expect_eq "the policy's blocklist is enforced" "$(D malware-c2.example | grep -o 'status: [A-Z]*')" "status: NXDOMAIN"
for _ in $(seq 100); do "$SRV" events --dir $S | grep -q malware-c2 && break; sleep 0.2; done
expect_eq "its security event reaches the server" "$("$SRV" events --dir $S | grep '"dns_blocked"' | head -1 | json_get /dev/stdin '(d["device"], d["type"], d["payload"]["name"])')" \
	"('LWIP-GW-1', 'dns_blocked', 'malware-c2.example')"
grep -q "resumed\|ok (policy 1" "$T/lwip.log" && ok "the agent logs its syncs" || fail "sync log"
# the audit of an RTOS gateway: the board's facts, the same engine, results on the server
for _ in $(seq 150); do [ "$("$SRV" audit --dir $S | wc -l)" -ge 11 ] && break; sleep 0.2; done
"$SRV" audit --dir $S > $T/audit.jsonl
expect_eq "the gateway's audit reaches the server (11 checks)" "$(wc -l < $T/audit.jsonl)" "11"
res() { python3 -c 'import json,sys; print([json.loads(l)["result"] for l in open(sys.argv[1]) if json.loads(l)["check"] == sys.argv[2]][0])' $T/audit.jsonl "$1"; }
expect_eq "  the factory password is found (fact admin_password_default=1)" "$(res admin-password-changed)" "fail"
expect_eq "  telnet on is found" "$(res no-telnet)" "fail"
expect_eq "  a fact the board does not report is na" "$(res debug-port-off)" "na"
expect_eq "  web administration off the WAN passes" "$(res web-admin-lan-only)" "pass"
grep -q "audit: admin-password-changed fails" "$T/lwip.log" && ok "  and a critical failure is logged on the console" ||
	fail "  no audit warning on the console"
expect_eq "  and reaches the server as an audit_failed event" \
	"$("$SRV" events --dir $S | grep '"audit_failed"' | grep -c '"admin-password-changed"')" "1"

# the policy and the event journal survive a restart: they are in the flash store
kill $LPID; wait $LPID 2>/dev/null
lwip_start $T/flash2.img -c /etc/khien/khiend.json || fail "restart"
expect_eq "after a restart the applied policy is still enforced (flash store)" "$(D malware-c2.example | grep -o 'status: [A-Z]*')" "status: NXDOMAIN"
grep -q "index /state/policy/slot-a/blocklist loaded" "$T/lwip.log" && ok "from its A/B slot" || fail "slot not loaded"
kill $LPID; wait $LPID 2>/dev/null
kill $SPID; wait $SPID 2>/dev/null

# --- 3. MCUboot: the agent verifies a candidate image in the board's slot 1
# before it asks the board to mark it for swap, and commits the running
# image's security counter to its flash store after the swap. Slots are
# files (platform/lwip/host/slots.c); marking writes MCUboot's trailer magic
# at the slot's end, confirming the image_ok byte 8 bytes before it.
M=$KHIEN_BUILD/tests/khien-mkmcuboot
F=$T/flash3.img
MAGIC=77c295f360d2ef7f3552500f2cb67980
ERASED=ffffffffffffffffffffffffffffffff
# the firmware keys are the trust root's firmware role: two keys, threshold 2
for k in root pol fw1 fw2 fw3 other; do "$P" keygen -o $T/$k >/dev/null || fail "keygen $k"; done
"$P" root init --key $T/root.pub --policy-key $T/pol.pub --firmware-key $T/fw1.pub \
	--firmware-key $T/fw2.pub --firmware-threshold 2 --expires +3650d -o $T/fwroot.json >/dev/null &&
	"$P" root sign --key $T/root.key $T/fwroot.json >/dev/null || fail "trust root with a firmware role"
mk() { local out=$1; shift; "$M" --pad-to 131072 "$@" -o "$out" || fail "build image $out"; }
FW=(--key $T/fw1.key --key $T/fw2.key)
mk $T/v5.img "${FW[@]}" --counter 5 --version 1.5.0+7
mk $T/v4.img "${FW[@]}" --counter 4 --version 1.6.0+0
mk $T/v6.img "${FW[@]}" --counter 6 --version 1.6.1+0
mk $T/tampered.img "${FW[@]}" --counter 6 --tamper
mk $T/unprot.img "${FW[@]}" --counter 9 --unprotected-counter
mk $T/other.img --key $T/other.key --counter 9
mk $T/cut.img "${FW[@]}" --counter 9 --unprot-tot 60
mk $T/one.img --key $T/fw1.key --counter 9
mk $T/twice.img --key $T/fw1.key --key $T/fw1.key --counter 9
mk $T/fw1pol.img --key $T/fw1.key --key $T/pol.key --counter 9
mk $T/v7new.img --key $T/fw3.key --counter 7 --version 1.7.0+0
magic() { tail -c 16 "$1" | od -An -tx1 | tr -d ' \n'; }
fwup() { # IMAGE: put it in slot 1 and run the lwIP agent's update path; prints exit code and slot 1's trailer
	cp "$1" $T/slot1
	"$LK" --lwip-flash $F --lwip-flash-mb 16 --lwip-install /etc/khien/root.json=$T/fwroot.json \
		--lwip-slot1 $T/slot1 --lwip-fw-update >$T/fw.out 2>&1
	echo "$? $(magic $T/slot1)"
}
expect_eq "a tampered image is refused and not marked for swap" "$(fwup $T/tampered.img)" "1 $ERASED"
grep -q "update refused: SHA-256 .* (tampered)" $T/fw.out && ok "  with the reason" || { fail "  reason"; cat $T/fw.out; }
expect_eq "an image whose security counter is outside the protected TLVs is refused, not marked" "$(fwup $T/unprot.img)" "1 $ERASED"
grep -q "TLV 0x50 (security counter) .* unprotected TLV area.*CVE-2024-32883" $T/fw.out && ok "  as CVE-2024-32883" || { fail "  reason"; cat $T/fw.out; }
expect_eq "an image signed by another key is refused, not marked" "$(fwup $T/other.img)" "1 $ERASED"
grep -q "not a firmware key" $T/fw.out && ok "  with the reason" || { fail "  reason"; cat $T/fw.out; }
expect_eq "an image with a truncated TLV area is refused, not marked" "$(fwup $T/cut.img)" "1 $ERASED"
expect_eq "an image signed by one firmware key (threshold 2) is refused, not marked" "$(fwup $T/one.img)" "1 $ERASED"
grep -q "signed by 1 distinct firmware key(s), 2 needed (the firmware threshold)" $T/fw.out && ok "  below the threshold" || { fail "  reason"; cat $T/fw.out; }
expect_eq "an image signed twice by the same firmware key is refused (it counts once)" "$(fwup $T/twice.img)" "1 $ERASED"
grep -q "signed by 1 distinct firmware key(s), 2 needed" $T/fw.out && ok "  counted once" || { fail "  reason"; cat $T/fw.out; }
expect_eq "a firmware key and a policy key together are refused (the policy key counts for nothing)" "$(fwup $T/fw1pol.img)" "1 $ERASED"
grep -q "signed by 1 distinct firmware key(s), 2 needed" $T/fw.out && ok "  the policy key is not a firmware key" || { fail "  reason"; cat $T/fw.out; }
expect_eq "a valid image is marked for swap (MCUboot's trailer magic in slot 1)" "$(fwup $T/v5.img)" "0 $MAGIC"
grep -q "ok: image 1.5.0+7, counter 5, 2 of 2 firmware key(s) of trust root v1; slot 1 marked for a test swap" $T/fw.out && ok "  and reported" || { fail "  report"; cat $T/fw.out; }
cmp -s -n 131056 $T/slot1 $T/v5.img && ok "  nothing else in the slot changed" || fail "  slot changed"

# MCUboot swaps it into slot 0 and boots it; the new image commits its counter
cp $T/v5.img $T/slot0
lwip_start $F --lwip-slot0 $T/slot0 --lwip-fw-commit \
	--index /etc/khien/blocklist.idx --lwip-install /etc/khien/blocklist.idx=$T/idx ||
	fail "lwIP khiend boots the new image"
grep -q "committed: running image 1.5.0+7, counter 5; stored counter 5" "$T/lwip.log" &&
	ok "after the swap the running image is verified and its counter 5 committed" || fail "commit"
expect_eq "  and the image is confirmed (image_ok in slot 0's trailer)" "$(tail -c 24 $T/slot0 | head -c 1 | od -An -tx1 | tr -d ' ')" "01"
expect_eq "  and the agent runs: DNS answered" "$(D +short example.org)" "198.19.7.177"
kill $LPID; wait $LPID 2>/dev/null

# the counter lives in the flash store: a fresh start of the lwIP agent refuses older images
expect_eq "after a restart, an image with a lower counter (4 < 5) is refused, not marked" "$(fwup $T/v4.img)" "1 $ERASED"
grep -q "security counter 4 is below the stored 5 (rollback)" $T/fw.out && ok "  as a rollback" || { fail "  reason"; cat $T/fw.out; }
expect_eq "  a higher counter (6) is still accepted" "$(fwup $T/v6.img)" "0 $MAGIC"
# committing an older running image never lowers the stored counter
cp $T/v4.img $T/slot0
: >"$T/lwip.log"
lwip_start $F --lwip-slot0 $T/slot0 --lwip-fw-commit \
	--index /etc/khien/blocklist.idx || fail "lwIP khiend boots"
grep -q "commit refused: security counter 4 is below the stored 5" "$T/lwip.log" &&
	ok "a commit of an older running image is refused" || { fail "older commit"; tail "$T/lwip.log"; }
kill $LPID; wait $LPID 2>/dev/null
expect_eq "  and the stored counter was not lowered (4 still refused)" "$(fwup $T/v4.img | cut -c1)" "1"

# rotation: a bundle carrying root v2 (firmware role: fw3 alone) replaces the keys
"$P" root init --version 2 --key $T/root.pub --policy-key $T/pol.pub --firmware-key $T/fw3.pub \
	--expires +3650d -o $T/fwroot-2.json >/dev/null && "$P" root sign --key $T/root.key $T/fwroot-2.json >/dev/null
"$P" bundle --key $T/pol.key --version 1 --expires +30d --component blocklist=$T/idx \
	--root $T/fwroot-2.json -o $T/rot-bundle >/dev/null || fail "bundle with root v2"
expect_eq "before the rotation, an image signed by the new key fw3 is refused" "$(fwup $T/v7new.img)" "1 $ERASED"
: >"$T/lwip.log"
lwip_start $F --trust-root /etc/khien/root.json --bundle /etc/khien/rot-bundle \
	--lwip-install /etc/khien/rot-bundle=$T/rot-bundle || fail "lwIP khiend applies the bundle"
kill $LPID; wait $LPID 2>/dev/null
grep -q "root v2\|root 2" "$T/lwip.log" || { echo "# agent log:"; sed 's/^/#   /' "$T/lwip.log" | tail -8; }
expect_eq "after the bundle with root v2, the rotated-out keys are refused (fw1+fw2)" "$(fwup $T/v6.img)" "1 $ERASED"
grep -q "not a firmware key" $T/fw.out && ok "  they are no longer firmware keys" || { fail "  reason"; cat $T/fw.out; }
expect_eq "  and the new key fw3 signs (threshold 1 in root v2)" "$(fwup $T/v7new.img)" "0 $MAGIC"
grep -q "1 of 1 firmware key(s) of trust root v2" $T/fw.out && ok "  by root v2's firmware role" || { fail "  report"; cat $T/fw.out; }
done_testing
