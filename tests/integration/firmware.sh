#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Signed firmware (docs/FIRMWARE.md) with real processes: khien-policy signs
# and verifies manifests offline; khiend checks candidate images for
# khienctl, commits the security counter, keeps it across restarts, refuses
# every image once the counter file is corrupt until a root-signed reset,
# and reports a running image that no longer matches its manifest. Each
# attack is refused with its reason.
. "$(dirname "$0")/lib.sh"
P=$KHIEN_BUILD/khien-policy
K=$T/keys
mkdir -p "$K"
for k in root pol fw1 fw2 rogue; do "$P" keygen -o "$K/$k" >/dev/null || fail "keygen $k"; done

# ---- the trust root's firmware role ----
expect_rc "root init with a firmware role of threshold 2" 0 "$P" root init --key "$K/root.pub" \
	--policy-key "$K/pol.pub" --firmware-key "$K/fw1.pub" --firmware-key "$K/fw2.pub" \
	--firmware-threshold 2 --expires +3650d -o "$T/root.json"
grep -q "2 firmware key(s) (threshold 2)" "$T/out" && ok "root init reports the firmware role" ||
	fail "root init reports the firmware role"
"$P" root sign --key "$K/root.key" "$T/root.json" >/dev/null
expect_rc "a key in both the policy and the firmware role is refused" 2 "$P" root init \
	--key "$K/root.pub" --policy-key "$K/pol.pub" --firmware-key "$K/pol.pub" --expires +1d \
	-o "$T/bad-root.json"
grep -q "one key, one role" "$T/err" && ok "... saying why" || fail "... saying why"
"$P" root init --key "$K/root.pub" --policy-key "$K/pol.pub" --expires +3650d \
	-o "$T/root-nofw.json" >/dev/null && "$P" root sign --key "$K/root.key" "$T/root-nofw.json" >/dev/null

# images: 3 MiB of noise, a rootfs part inside it
head -c 3145728 /dev/urandom >"$T/img"
head -c 3145728 /dev/urandom >"$T/img-other"
sign() { # OUT COUNTER [extra args...]: a manifest of $T/img
	local out=$1 n=$2
	shift 2
	"$P" firmware sign --image "$T/img" --version "1.$n.0" --security-counter "$n" \
		--hardware khien,test-1 --hardware khien,test-2 --part rootfs=65536:2097152 "$@" -o "$out"
}
expect_rc "firmware sign with two firmware keys" 0 sign "$T/img.m5" 5 --key "$K/fw1.key" --key "$K/fw2.key"
grep -q "version 1.5.0, security counter 5, 3145728 bytes" "$T/out" && ok "sign reports what it signed" ||
	fail "sign reports what it signed"
fwv() { "$P" firmware verify --root "$T/root.json" "$@"; }
expect_rc "firmware verify: a valid image" 0 fwv --hardware khien,test-2 --min-counter 5 "$T/img" "$T/img.m5"
expect_eq "... prints version and counter" "$(cut -d, -f1-2 "$T/out")" "ok: version 1.5.0, counter 5"
fwv --json "$T/img" "$T/img.m5" >"$T/j"
expect_eq "verify --json" "$(json_get "$T/j" '(d["ok"], d["version"], d["security_counter"])')" \
	"(True, '1.5.0', 5)"

refused() { # NAME REASON-PREFIX verify-args...
	local name=$1 why=$2
	shift 2
	fwv "$@" >"$T/out" 2>"$T/err"
	local rc=$?
	if [ $rc -eq 1 ] && grep -q "^REFUSED: $why" "$T/out"; then ok "offline: $name"; else
		fail "offline: $name (exit $rc)"; sed 's/^/#   /' "$T/out" "$T/err" | head -5
	fi
}
cp "$T/img" "$T/img-flip"
printf '\x5a' | dd of="$T/img-flip" bs=1 seek=1000000 conv=notrunc 2>/dev/null
refused "a flipped byte" "hash: SHA-256 of the image" "$T/img-flip" "$T/img.m5"
head -c 3000000 "$T/img" >"$T/img-trunc"
refused "a truncated image" "length: image is 3000000 bytes" "$T/img-trunc" "$T/img.m5"
refused "another image's manifest" "hash:" "$T/img-other" "$T/img.m5"
refused "the wrong hardware" "hardware:" --hardware other,board "$T/img" "$T/img.m5"
refused "a lower counter than the device's" "rollback:" --min-counter 6 "$T/img" "$T/img.m5"
sign "$T/img.mpol" 9 --key "$K/pol.key" >/dev/null
refused "a manifest signed by a policy key" "signature: 0 valid firmware" "$T/img" "$T/img.mpol"
sign "$T/img.m1key" 9 --key "$K/fw1.key" >/dev/null
refused "one firmware key, below the threshold of 2" "signature: 1 valid firmware signature(s), 2 needed" \
	"$T/img" "$T/img.m1key"
sign "$T/img.mextra" 9 --key "$K/fw1.key" --key "$K/fw2.key" --unsafe-extra-field 'no_rollback=true' >/dev/null
refused "an unknown signed field" "signed.no_rollback: unknown field" "$T/img" "$T/img.mextra"
"$P" firmware verify --root "$T/root-nofw.json" "$T/img" "$T/img.m5" >"$T/out"
expect_eq "a root without a firmware role verifies no firmware" "$(cat "$T/out")" \
	"REFUSED: signature: trust root has no firmware role"
# a firmware key cannot sign policy
echo "blocked.example" >"$T/list"
"$P" compile -q -o "$T/idx" --list gambling="$T/list" >/dev/null
"$P" bundle --key "$K/fw1.key" --key "$K/fw2.key" --version 1 --expires +30d \
	--component blocklist="$T/idx" -o "$T/fw-bundle" >/dev/null
"$P" verify --root "$T/root.json" "$T/fw-bundle" >"$T/out"
grep -q "REFUSED: signatures: 0 valid policy signature(s)" "$T/out" &&
	ok "a bundle signed by firmware keys is no policy" || { fail "a bundle signed by firmware keys is no policy"; cat "$T/out"; }
# the signature covers the counter: editing it breaks the signature
sed 's/"security_counter":5/"security_counter":50/' "$T/img.m5" >"$T/img.medit"
refused "an edited security counter" "signature: 0 valid firmware" "$T/img" "$T/img.medit"
expect_rc "firmware sign without --hardware is a usage error" 2 "$P" firmware sign --key "$K/fw1.key" \
	--image "$T/img" --version 1 --security-counter 1 -o "$T/x"
expect_rc "firmware verify --help" 0 "$P" firmware verify --help

# ---- on the device: khiend (engine as user khien) and its trust-state owner ----
# the running rootfs partition: the part of the image sysupgrade wrote there, root's alone
tail -c +65537 "$T/img" | head -c 2097152 >"$T/rootfs"
head -c 4096 /dev/zero >>"$T/rootfs" # a partition is larger than the image in it
chmod 600 "$T/rootfs"
cat >"$T/khiend.json" <<JSON
{"firmware": {"partition": "$T/rootfs", "part": "rootfs", "interval_s": 1}}
JSON
DNS=127.0.61.17:16117
start_fw() {
	start_khiend -c "$T/khiend.json" -l $DNS -u 127.0.61.17:16118 --trust-root "$T/root.json" \
		--hardware-id khien,test-1
}
dev_refused() { # NAME REASON-PREFIX IMG MANIFEST
	local name=$1 why=$2 out rc
	out=$(ctl firmware verify "$3" "$4" 2>&1)
	rc=$?
	if [ $rc -eq 1 ] && [[ "$out" == "refused: $why"* ]]; then ok "device: $name"; else
		fail "device: $name (exit $rc)"; echo "#   $out"
	fi
}
start_fw || fail "khiend starts"
expect_rc "khienctl firmware verify needs image and manifest" 2 ctl firmware verify "$T/img"
expect_rc "khienctl firmware with an unknown subcommand" 2 ctl firmware flash "$T/img"
expect_rc "khienctl firmware verify of a missing file" 1 ctl firmware verify "$T/nope" "$T/img.m5"
ctl firmware status >"$T/st"
expect_eq "firmware status on a new device" "$(sed -n '1,2p' "$T/st")" "security counter 0 (reset epoch 0)
installed manifest: none"
out=$(ctl firmware verify "$T/img" "$T/img.m5")
expect_eq "device: a valid image verifies" "$?:$out" "0:ok: version 1.5.0, counter 5"
dev_refused "a flipped byte" "hash: SHA-256 of the image" "$T/img-flip" "$T/img.m5"
dev_refused "a truncated image" "length: image is 3000000 bytes" "$T/img-trunc" "$T/img.m5"
dev_refused "another image's manifest" "hash:" "$T/img-other" "$T/img.m5"
sign "$T/img.mhw" 9 --key "$K/fw1.key" --key "$K/fw2.key" >/dev/null
"$P" firmware sign --image "$T/img" --version 9 --security-counter 9 --hardware other,board \
	--key "$K/fw1.key" --key "$K/fw2.key" -o "$T/img.mhw" >/dev/null
dev_refused "the wrong hardware" "hardware: image is for other,board" "$T/img" "$T/img.mhw"
dev_refused "a manifest signed by a policy key" "signature: 0 valid firmware" "$T/img" "$T/img.mpol"
dev_refused "one firmware key, below the threshold" "signature: 1 valid firmware signature(s), 2 needed" \
	"$T/img" "$T/img.m1key"
dev_refused "an edited counter" "signature:" "$T/img" "$T/img.medit"
expect_eq "running image before any commit" \
	"$(ctl firmware status --json | py 'json.load(sys.stdin)["firmware"]["running"]["state"]')" "unavailable"
out=$(ctl firmware commit "$T/img.m5")
expect_eq "device: commit raises the counter" "$?:$out" "0:committed version 1.5.0, security counter 5"
sign "$T/img.m3" 3 --key "$K/fw1.key" --key "$K/fw2.key" >/dev/null
dev_refused "an older counter after the commit" "rollback: security counter 3 is below the device's 5" \
	"$T/img" "$T/img.m3"
out=$(ctl firmware commit "$T/img.m3")
expect_eq "device: a commit never lowers the counter" "$?:${out%%:*}" "1:refused"
running() { ctl firmware status --json | py 'json.load(sys.stdin)["firmware"]["running"]'"$1"; }
for _ in $(seq 50); do [ "$(running '["state"]')" = verified ] && break; sleep 0.1; done
expect_eq "the running rootfs matches the committed manifest's part" \
	"$(running '["state"], d["version"] if (d:=json.load(sys.stdin)["firmware"]["running"]) else 0' 2>/dev/null || running '["state"]')" "verified"

# a device that cannot say which board it is takes no image
stop_khiend
start_khiend -c "$T/khiend.json" -l $DNS -u 127.0.61.17:16118 --trust-root "$T/root.json" ||
	fail "khiend starts without a hardware id"
dev_refused "no hardware id on the device" "hardware: this device has no hardware id" "$T/img" "$T/img.m5"
# the counter survives a restart
stop_khiend
start_fw || fail "khiend restarts"
dev_refused "after a restart, the older counter is still refused" "rollback: security counter 3 is below the device's 5" \
	"$T/img" "$T/img.m3"
expect_eq "after a restart, the stored counter is 5" \
	"$(ctl firmware status --json | py 'json.load(sys.stdin)["firmware"]["counter"]')" "5"

# a running image that stops matching: a critical event, once
for _ in $(seq 50); do [ "$(running '["state"]')" = verified ] && break; sleep 0.1; done
printf '\x01' | dd of="$T/rootfs" bs=1 seek=4096 conv=notrunc 2>/dev/null
for _ in $(seq 50); do [ "$(running '["state"]')" = mismatch ] && break; sleep 0.1; done
expect_eq "a changed rootfs is a mismatch" "$(running '["state"]')" "mismatch"
ctl events >"$T/ev"
expect_eq "... reported as one critical firmware_mismatch event" \
	"$(py '[(e["type"], e["severity"]) for e in json.load(open("'"$T/ev"'"))["events"] if e["type"]=="firmware_mismatch"]')" \
	"[('firmware_mismatch', 'critical')]"
sleep 1.5
expect_eq "... not repeated while it stays wrong" \
	"$(ctl events | py 'len([e for e in json.load(sys.stdin)["events"] if e["type"]=="firmware_mismatch"])')" "1"

# DNS keeps being answered while a 64 MB image is hashed
head -c 67108864 /dev/urandom >"$T/big"
"$P" firmware sign --image "$T/big" --version big --security-counter 6 --hardware khien,test-1 \
	--key "$K/fw1.key" --key "$K/fw2.key" -o "$T/big.m" >/dev/null
lat=$(python3 - "$DNS" "$CTL" "$KHIEN_BUILD/khienctl" "$T/big" "$T/big.m" "$T/bigout" <<'PY'
import socket, struct, subprocess, sys, time
host, port = sys.argv[1].rsplit(":", 1)
q = struct.pack(">HHHHHH", 0x1234, 0x0100, 1, 0, 0, 0)
q += b"".join(bytes([len(l)]) + l.encode() for l in "use-application-dns.net".split(".")) + b"\0"
q += struct.pack(">HH", 1, 1)
out = open(sys.argv[6], "w")
p = subprocess.Popen([sys.argv[3], "--control", sys.argv[2], "firmware", "verify", sys.argv[4], sys.argv[5]], stdout=out)
worst, during = 0.0, 0
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.settimeout(2)
time.sleep(0.02)
while p.poll() is None:
    t = time.monotonic(); s.sendto(q, (host, int(port))); s.recv(512)
    worst = max(worst, time.monotonic() - t); during += 1
    time.sleep(0.002)
p.wait()
print("%d %.0f" % (during, worst * 1000))
PY
)
n=${lat% *}
ms=${lat#* }
if [ "${n:-0}" -ge 3 ] && [ "${ms:-999}" -lt 100 ]; then ok "DNS answered during the hash ($n queries, worst ${ms} ms)"; else
	fail "DNS answered during the hash ($lat: queries, worst ms)"; fi

# the reviewer's attack: a valid root-signed reset, issued for some other unit of the same
# board, handed to this healthy device, must not lower its counter
"$P" firmware reset --key "$K/root.key" --counter 0 --epoch 1 --hardware khien,test-1 \
	--nonce 00112233445566778899aabbccddeeff -o "$T/reset-other" >/dev/null
out=$(ctl firmware reset "$T/reset-other")
expect_eq "a reset for another device is refused by a healthy one" "$?:${out%%(*}" \
	"1:refused: rollback: the security counter "
dev_refused "... and its counter still refuses older images" "rollback:" "$T/img" "$T/img.m3"

# a corrupt counter file: every image refused until a root-signed reset naming its nonce
stop_khiend
sed -i 's/ 5 0 / 4 0 /' "$T/state/firmware/counter"
start_fw || fail "khiend starts with a corrupt counter"
dev_refused "a corrupt counter file refuses even a valid image" "counter: the stored security counter is corrupt" \
	"$T/img" "$T/img.m5"
ctl firmware status --json >"$T/fwst.json"
expect_eq "status says corrupt" "$(json_get "$T/fwst.json" 'd["firmware"]["corrupt"]')" "True"
nonce=$(json_get "$T/fwst.json" 'd["firmware"]["reset_nonce"]')
check "status shows a 32-digit reset nonce" test "${#nonce}" -eq 32
check "khienctl firmware status prints the nonce" sh -c "\"\$0\" --control \"\$1\" firmware status | grep -q \"reset nonce: \$2\"" \
	"$KHIEN_BUILD/khienctl" "$CTL" "$nonce"
stop_khiend
start_fw || fail "khiend restarts with the corrupt counter"
expect_eq "the nonce survives a restart" \
	"$(ctl firmware status --json | py 'json.load(sys.stdin)["firmware"]["reset_nonce"]')" "$nonce"
out=$(ctl firmware reset "$T/reset-other")
expect_eq "a reset naming another device's nonce is refused" "$?:${out%%,*}" \
	"1:refused: nonce: the reset names 00112233445566778899aabbccddeeff"
"$P" firmware reset --key "$K/fw1.key" --key "$K/fw2.key" --counter 5 --epoch 1 --hardware khien,test-1 \
	--nonce "$nonce" -o "$T/reset-fw" >/dev/null
out=$(ctl firmware reset "$T/reset-fw")
expect_eq "a reset signed by firmware keys is refused" "$?:${out%%(*}" "1:refused: signature: 0 valid root signature"
"$P" firmware reset --key "$K/root.key" --counter 5 --epoch 1 --hardware other,board --nonce "$nonce" \
	-o "$T/reset-hw" >/dev/null
out=$(ctl firmware reset "$T/reset-hw")
expect_eq "a reset for other hardware is refused" "$?:${out%%,*}" "1:refused: hardware: the reset is for other"
"$P" firmware reset --key "$K/root.key" --counter 5 --epoch 1 --hardware khien,test-1 --nonce "$nonce" \
	-o "$T/reset" >/dev/null
out=$(ctl firmware reset "$T/reset")
expect_eq "a root-signed reset naming the nonce repairs the counter" "$?:$out" "0:security counter reset to 5 (epoch 1)"
out=$(ctl firmware verify "$T/img" "$T/img.m5")
expect_eq "... and images verify again" "$?:$out" "0:ok: version 1.5.0, counter 5"
dev_refused "... below the reset counter still refused" "rollback:" "$T/img" "$T/img.m3"
out=$(ctl firmware reset "$T/reset")
expect_eq "a replayed reset is refused" "$?:${out%%(*}" "1:refused: rollback: the security counter "
check "the nonce is gone once repaired" test ! -e "$T/state/firmware/reset-nonce"
# rotation: root v2 gives the firmware role a new key; the device learns it from a bundle
"$P" keygen -o "$K/fw3" >/dev/null
"$P" root init --version 2 --key "$K/root.pub" --policy-key "$K/pol.pub" --firmware-key "$K/fw3.pub" \
	--expires +3650d -o "$T/root-2.json" >/dev/null && "$P" root sign --key "$K/root.key" "$T/root-2.json" >/dev/null
"$P" bundle --key "$K/pol.key" --version 1 --expires +30d --component blocklist="$T/idx" \
	--root "$T/root-2.json" -o "$T/rot-bundle" >/dev/null
"$P" firmware sign --image "$T/img" --version 1.6.0 --security-counter 6 --hardware khien,test-1 \
	--key "$K/fw3.key" -o "$T/img.m6new" >/dev/null
dev_refused "before the rotation, the new firmware key is unknown" "signature: 0 valid firmware" \
	"$T/img" "$T/img.m6new"
ctl policy apply "$T/rot-bundle" >/dev/null || fail "the bundle with root v2 applies"
out=$(ctl firmware verify "$T/img" "$T/img.m6new")
expect_eq "after the rotation, the new firmware key signs" "$?:$out" "0:ok: version 1.6.0, counter 6"
dev_refused "... and the rotated-out keys no longer do" "signature: 0 valid firmware signature(s), 1 needed (trust root v2)" \
	"$T/img" "$T/img.m5"
# deleting the counter file does not undo anti-rollback: a committed device calls it corrupt
stop_khiend
rm "$T/state/firmware/counter"
start_fw || fail "khiend starts without its counter file"
dev_refused "a deleted counter file (after a commit) is corrupt" "counter: the stored security counter is corrupt" \
	"$T/img" "$T/img.m6new"
stop_khiend
grep -q "firmware: security counter .*missing, but an image was committed; every image is refused" \
	"$T/khiend.log" && ok "the owner logs why it refuses images" || fail "the owner logs why it refuses images"

# the check-in reports the verified running image; the server shows it
SPORT=$(rand_port)
S=$T/srv
init_server "$S" "$SPORT" --trust-root "$T/root.json" || { fail "server init"; done_testing; }
"$SRV" provision --dir "$S" --device SN-FW-1 --group home -o "$T/dev1" >/dev/null || fail "provision"
python3 - "$T/dev1/khiend.json" "$T/rootfs" <<'PY'
import json, sys
c = json.load(open(sys.argv[1]))
c["firmware"] = {"partition": sys.argv[2], "part": "rootfs", "interval_s": 1}
json.dump(c, open(sys.argv[1], "w"))
PY
chmod -R a+rX "$T/dev1"
tail -c +65537 "$T/img" | head -c 2097152 >"$T/rootfs" # the image as flashed, again
rm -rf "$T/state"
start_server "$S" || { fail "server starts"; done_testing; }
start_khiend -c "$T/dev1/khiend.json" -l $DNS -u 127.0.61.17:16118 --hardware-id khien,test-1 ||
	fail "khiend starts with the device identity"
ctl firmware commit "$T/img.m5" >/dev/null || fail "commit on the reporting device"
for _ in $(seq 50); do [ "$(running '["state"]')" = verified ] && break; sleep 0.1; done
ctl sync >/dev/null || fail "khienctl sync"
"$SRV" devices --dir "$S" >"$T/devices"
expect_eq "the server shows the device's verified firmware version and counter" \
	"$(py "[(d['serial'], d['health'].get('firmware_state'), d['health'].get('firmware_version'), d['health'].get('firmware_counter')) for d in map(json.loads, open('$T/devices'))]")" \
	"[('SN-FW-1', 'verified', '1.5.0', 5)]"
stop_khiend
stop_server

done_testing
