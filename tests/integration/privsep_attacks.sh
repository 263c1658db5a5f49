#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Least privilege on the device, attacked by the daemon's own user (another
# daemon that shares it, or a compromised engine) and by local clients:
#  - the trust state (root, slots, client key) is root's, the engine's user
#    cannot write or plant anything in it; root never works in spool/,
#    so links planted there are never followed by root (no chown of
#    /etc/shadow, no write or read through them);
#  - a state directory left writable by the old daemon user is set aside;
#  - the engine that parses the network is a separate, unprivileged process;
#  - khienctl passes the bundle as an open file (no path opened for it);
#  - control.group members (supplementary) may connect, others may not;
#  - a second khiend cannot take over a live control socket;
#  - a configured index that cannot be loaded at start is an error.
. "$(dirname "$0")/lib.sh"
[ "$(id -u)" -eq 0 ] || { skip "privilege separation" "needs root"; done_testing; }
P=$KHIEN_BUILD/khien-policy
PORT=$(rand_port); UP=$((PORT + 1)); DNS=$((PORT + 2))
S=$T/srv ST=$T/state
KUID=$(id -u khien)
K=$T/keys; mkdir -p "$K"
for k in root pol; do "$P" keygen -o "$K/$k" >/dev/null; done
"$P" root init --threshold 1 --key $K/root.pub --policy-key $K/pol.pub --expires +365d -o $T/root.json >/dev/null
"$P" root sign --key $K/root.key $T/root.json >/dev/null
echo evil.example > $T/l.txt
"$P" compile -q -o $T/idx --list malware=$T/l.txt >/dev/null 2>&1
"$P" bundle --key $K/pol.key --version 1 --expires +30d --component blocklist=$T/idx -o $T/b1 >/dev/null
init_server $S $PORT || { fail "server init"; done_testing; }
"$SRV" provision --dir $S --device SN-PRIV-1 -o $T/dev >/dev/null || fail "provision"
chmod -R a+rX $T/dev $T/root.json $T/idx
# the victims: stand-ins for /etc/shadow and a root-only directory
printf 'root:secret\n' > $T/victim; chmod 600 $T/victim
mkdir -m 700 $T/victimdir; echo keep > $T/victimdir/f
victim_intact() { # NAME: owner, mode and content of the victims unchanged
	local st d
	st=$(stat -c '%u %a' $T/victim) d=$(stat -c '%u %a' $T/victimdir)
	if [ "$st" = "0 600" ] && [ "$(cat $T/victim)" = "root:secret" ] && [ "$d" = "0 700" ] &&
		[ "$(cat $T/victimdir/f)" = keep ] && [ "$(ls $T/victimdir)" = f ]; then ok "$1"; else
		fail "$1 (victim: $st, dir: $d, $(ls $T/victimdir | tr '\n' ' '))"
	fi
}
start_upstream $UP 1 || exit 1
agent() { start_khiend -c $T/dev/khiend.json --listen 127.0.0.1:$DNS --upstream 127.0.0.1:$UP \
	--trust-root $T/root.json --user khien --state-dir $ST "$@"; }

agent || { fail "khiend starts"; done_testing; }
EPID=$(engine_pid)
grep -q "Uid:[[:space:]]*$KUID[[:space:]]" /proc/$EPID/status && ok "the engine runs as khien" ||
	fail "the engine runs as khien"
grep -q "Uid:[[:space:]]*0[[:space:]]" /proc/$KPID/status && [ "$EPID" != "$KPID" ] &&
	ok "the trust-state owner is another process" || fail "the trust-state owner is another process"
[ "$(stat -c %U "$ST" "$ST/policy" "$ST/policy/slot-a" "$ST/policy/slot-b" | sort -u)" = root ] &&
	ok "trust state directories belong to root" || fail "trust state directories belong to root"
[ "$(stat -c '%U %a' $ST/spool)" = "khien 700" ] && ok "spool/ belongs to khien" || fail "spool owner"
# a compromised engine may not start processes (a sanitizer build leaves the limit off: LSan clones at exit)
if grep -q __asan_init "$KHIEN_BUILD/khiend"; then
	skip "the engine may not fork" "sanitizer build: LeakSanitizer clones a tracer at exit"
else
	grep -qE "^Max processes +0 +0 " /proc/$EPID/limits && ok "the engine may not fork (RLIMIT_NPROC 0)" ||
		fail "engine process limit: $(grep 'Max processes' /proc/$EPID/limits)"
fi
expect_rc "policy apply through khienctl" 0 ctl policy apply $T/b1
# a bundle only root can read: khienctl opens it, khiend never opens a path for a client
mkdir -m 700 $T/rootonly; cp $T/b1 $T/rootonly/b1
"$P" bundle --key $K/pol.key --version 2 --expires +30d --component blocklist=$T/idx -o $T/rootonly/b2 >/dev/null
chmod 600 $T/rootonly/b2
expect_rc "a bundle in a root-only directory applies (passed as an open file)" 0 ctl policy apply $T/rootonly/b2
expect_rc "a bundle from standard input is read (an older one: refused)" 1 ctl policy apply - < $T/b1
grep -q "rollback" $T/err && ok "  and judged: $(head -c 90 $T/err)" || fail "stdin bundle: $(cat $T/err)"
# a pipe that never ends must not block the loop that answers DNS
expect_rc "a pipe as the bundle is refused" 1 timeout 5 "$KHIEN_BUILD/khienctl" --control "$CTL" policy apply - < <(sleep 30)
grep -q "standard input is not a file" $T/err && ok "  by khienctl: $(head -c 80 $T/err)" || fail "pipe: $(cat $T/err)"
# a hostile client passes a pipe that never ends straight to the daemon
timeout 10 python3 - "$CTL" > $T/pipe.out <<'PY'
import os, socket, sys, json, array
r, w = os.pipe()
s = socket.socket(socket.AF_UNIX); s.connect(sys.argv[1])
s.sendmsg([b'{"cmd": "policy-apply"}\n'], [(socket.SOL_SOCKET, socket.SCM_RIGHTS, array.array("i", [r]))])
print(s.recv(4096).decode())
PY
grep -q "not a regular file" $T/pipe.out && ok "a pipe passed by a raw client is refused by khiend, not read" ||
	fail "raw pipe: $(cat $T/pipe.out)"
dig +time=2 +tries=1 @127.0.0.1 -p $DNS ok.example | grep -q "status: NOERROR" && ok "DNS is answered meanwhile" || fail "DNS blocked"
python3 - "$CTL" "$T/rootonly/b2" > $T/raw.out <<'PY'
import socket, sys, json
s = socket.socket(socket.AF_UNIX); s.connect(sys.argv[1])
s.sendall((json.dumps({"cmd": "policy-apply", "path": sys.argv[2]}) + "\n").encode())
print(s.recv(4096).decode())
PY
grep -q '"ok":false' $T/raw.out && grep -q "open file" $T/raw.out &&
	ok "a path in a policy-apply request is not opened by the daemon" || fail "path request: $(cat $T/raw.out)"

# the daemon's user attacks the trust state directly
for attempt in "ln -s $T/victim $ST/policy/slot-a/blocklist.new" "cp $T/root.json $ST/root.json" \
	"mv $ST/policy $ST/policy.old" "ln -s $T/victimdir $ST/policy/slot-c" "touch $ST/time" \
	"cat $ST/client.key"; do
	if as_user khien sh -c "$attempt" 2>/dev/null; then fail "khien may: $attempt"; else
		ok "khien may not: ${attempt//$T/\$T}"; fi
done
# ... and plants links in its own spool for root to follow at the next start
stop_khiend
rm -f $ST/spool/*
as_user khien ln -s $T/victim $ST/spool/events.journal
as_user khien ln -s $T/victim $ST/spool/policy.download
as_user khien ln -s $T/victim $ST/spool/policy.download.sha
as_user khien ln -s $T/victim $ST/spool/events.journal.corrupt
as_user khien ln -s $T/victimdir $ST/spool/x
agent || fail "khiend restarts with links in spool/"
victim_intact "links planted in spool/ are not followed by root (chown, write, read)"
grep -q "report queue\|reporting off\|journal" $T/khiend.log && ok "the journal link is refused, with a reason" ||
	fail "journal link: $(tail -5 $T/khiend.log)"
kill -0 $KPID && ok "khiend keeps serving DNS" || fail "khiend died"
stop_khiend

# a state directory from the old layout: owned by the daemon user, with links
mv $ST $T/state.done
mkdir -p $ST/policy; ln -s $T/victimdir $ST/policy/slot-a; ln -s $T/victim $ST/events.journal
ln -s $T/victim $ST/root.json; chown -hR khien:khien $ST
agent || fail "khiend starts on a state directory the daemon user owned"
victim_intact "an untrusted state directory is set aside, its links never followed"
ls -d $ST.untrusted.* >/dev/null 2>&1 && [ "$(stat -c %U $ST)" = root ] &&
	ok "set aside as STATE.untrusted.*, a new root-owned state made" || fail "set aside"
grep -q "not trusted" $T/khiend.log && ok "the log says why" || fail "log: $(head -5 $T/khiend.log)"
expect_eq "signed policy starts again from the firmware root" \
	"$(ctl status | json_get /dev/stdin 'd["policy"]["version"]')" "0"

# a second khiend on the same control socket is refused; the first stays reachable
"$KHIEN_BUILD/khiend" -f --control "$CTL" --state-dir $T/state2 --listen 127.0.0.1:$((DNS + 3)) \
	--upstream 127.0.0.1:$UP --user khien >$T/second.log 2>&1
rc=$?
[ $rc -ne 0 ] && grep -q "in use" $T/second.log && ok "a second khiend on a live control socket is refused (exit $rc)" ||
	fail "second khiend: exit $rc, $(cat $T/second.log)"
ctl status >/dev/null && ok "the first khiend is still reachable" || fail "first khiend unreachable"
"$KHIEN_BUILD/khiend" -f --control $T/ctl-clash.sock --state-dir $T/state-clash --listen 127.0.0.1:$DNS \
	--upstream 127.0.0.1:$UP --user khien >$T/clash.log 2>&1
rc=$?
[ $rc -ne 0 ] && grep -q "cannot bind 127.0.0.1:$DNS" $T/clash.log &&
	ok "a DNS port in use: the error names the address (exit $rc)" || fail "port clash: exit $rc, $(cat $T/clash.log)"
stop_khiend

# a configured index that is missing at start is a configuration error
"$KHIEN_BUILD/khiend" -f --control $T/ctl3.sock --state-dir $T/state3 --listen 127.0.0.1:$((DNS + 4)) \
	--upstream 127.0.0.1:$UP --user khien --index $T/missing.idx >$T/missing.log 2>&1
rc=$?
[ $rc -eq 1 ] && grep -q "missing.idx" $T/missing.log && ok "a missing dns.index at start: exit 1 naming it" ||
	fail "missing index: exit $rc, $(cat $T/missing.log)"

# control.group: a member by a supplementary group may connect, others may not
getent group khien-ctl >/dev/null || groupadd --system khien-ctl
id khien-op >/dev/null 2>&1 || useradd --system --no-create-home --shell /usr/sbin/nologin -G khien-ctl khien-op
id khien-other >/dev/null 2>&1 || useradd --system --no-create-home --shell /usr/sbin/nologin khien-other
python3 - "$T/dev/khiend.json" "$T/grp.json" <<'PY'
import json, sys
c = json.load(open(sys.argv[1])); c["control"] = {"group": "khien-ctl"}; c.pop("report", None)
json.dump(c, open(sys.argv[2], "w"))
PY
chmod 644 $T/grp.json
start_khiend -c $T/grp.json --listen 127.0.0.1:$DNS --upstream 127.0.0.1:$UP --user khien --state-dir $T/state4 ||
	fail "khiend with control.group"
[ "$(stat -c %G $CTL)" = khien-ctl ] && ok "the control socket belongs to group khien-ctl" || fail "socket group"
setpriv --reuid=khien-op --regid="$(id -g khien-op)" --init-groups -- "$KHIEN_BUILD/khienctl" --control $CTL status >/dev/null 2>&1 &&
	ok "a member of control.group (supplementary) may use the control socket" ||
	fail "control.group member refused: $(tail -2 $T/khiend.log)"
chmod 666 $CTL # past the file mode: the daemon's own check must refuse
setpriv --reuid=khien-other --regid="$(id -g khien-other)" --init-groups -- "$KHIEN_BUILD/khienctl" --control $CTL status >/dev/null 2>&1 &&
	fail "a user outside control.group was let in" || ok "a user outside control.group is refused"
grep -q "refused a client" $T/khiend.log && ok "  and the refusal is logged" || fail "refusal not logged"
stop_khiend
done_testing
