#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Staged rollout (docs/SERVER.md "Staged rollout") against the real server
# and 100 simulated devices speaking the device protocol over mutual TLS
# (fleet_sim.py): version 2 to 5% of the group is offered to exactly the
# devices of the stage and downloadable by them alone; 25% keeps the 5% in;
# devices of the stage that refuse it and report policy_rejected make the
# server halt the rollout by itself; a halted rollout offers the new version
# to nobody more; the operator's refusals (stages only go up, no group, an
# older version) change nothing; 100% assigns it to the whole group. Runs on
# SQLite and, from server_pg.sh, on PostgreSQL.
. "$(dirname "$0")/lib.sh"
P=$KHIEN_BUILD/khien-policy
L=$FIX/lists
SIM="python3 $(dirname "$0")/fleet_sim.py"
PORT=$(rand_port)
S=$T/srv
N=100

init_server $S $PORT || { fail "init"; done_testing; }
# the halt rule every second, so the test does not wait a minute
json_set() { python3 -c "import json,sys; p=sys.argv[1]; d=json.load(open(p)); d[sys.argv[2]]=int(sys.argv[3]); json.dump(d, open(p,'w'))" "$@"; }
json_set $S/server.json rollout_check_s 1
"$P" compile -q -o $T/idx --list malware=$L/malware.hosts >/dev/null 2>&1 || fail "compile"
for v in 1 2 3 4; do
	"$P" bundle --key $S/dev-keys/policy.key --version $v --expires +30d --component blocklist=$T/idx -o $T/p$v >/dev/null ||
		fail "bundle $v"
done
mkdir -p $T/devs
for i in $(seq -w 1 $N); do
	"$SRV" provision --dir $S --device SN-RO-$i --group home -o $T/devs/SN-RO-$i >/dev/null || fail "provision $i"
done
"$SRV" provision --dir $S --device SN-OTHER-1 --group other -o $T/other/SN-OTHER-1 >/dev/null || fail "provision other"
expect_eq "$N devices provisioned in group home" "$("$SRV" devices --dir $S | grep -c '"group":"home"')" "$N"

start_server $S || { fail "server starts"; done_testing; }
expect_rc "version 1 to the whole group home" 0 "$SRV" publish --dir $S $T/p1 --group home
$SIM $PORT $S/server-ca.pem $T/devs > $T/r0 2>$T/r0.err
expect_eq "every device applies version 1" "$(tail -1 $T/r0 | json_get /dev/stdin '(d["applied"], d["errors"])')" "($N, 0)"

# --- the operator's refusals
expect_rc "a stage without a group is refused" 2 "$SRV" publish --dir $S $T/p2 --stage 5%
expect_rc "a stage of 0% is refused" 2 "$SRV" publish --dir $S $T/p2 --group home --stage 0%
expect_rc "a stage of 101% is refused" 2 "$SRV" publish --dir $S $T/p2 --group home --stage 101%
expect_rc "advancing a group with no rollout is refused" 1 "$SRV" publish --dir $S --group home --stage 25%
expect_rc "a stage of an older version is refused" 1 "$SRV" publish --dir $S $T/p1 --group home --stage 5%
grep -q "not newer than version 1" $T/err && ok "  saying the group has version 1 already" || fail "older: $(cat $T/err)"

# --- 5%
expect_rc "version 2 to 5% of home" 0 "$SRV" publish --dir $S $T/p2 --group home --stage 5%
"$SRV" rollout --dir $S --group home > $T/ro1 || fail "rollout status"
expect_eq "the rollout is active at 5%, over version 1" "$(json_get $T/ro1 '(d["state"], d["stage"], d["version"], d["base"], d["group_devices"])')" "('active', '5%', 2, 1, $N)"
in5=$(json_get $T/ro1 'd["stages"][0]["devices"]')
[ "$in5" -ge 1 ] && [ "$in5" -le 12 ] && ok "5% of $N is $in5 devices (a pseudo-random share)" || fail "5% stage holds $in5"
$SIM $PORT $S/server-ca.pem $T/devs > $T/r1 2>$T/r1.err
expect_eq "exactly the stage's devices are offered version 2" "$(grep -c ' offered 2 ' $T/r1)" "$in5"
expect_eq "  the rest are offered version 1" "$(grep -c ' offered 1 ' $T/r1)" "$((N - in5))"
expect_eq "  with no error" "$(tail -1 $T/r1 | json_get /dev/stdin 'd["errors"]')" "0"
grep ' offered 2 ' $T/r1 | cut -d' ' -f1 | sort > $T/stage5
"$SRV" rollout --dir $S --group home > $T/ro2
expect_eq "the status counts them applied" "$(json_get $T/ro2 '(d["stages"][0]["applied"], d["stages"][0]["seen"], d["stages"][0]["rejected"], d["state"])')" "($in5, $in5, 0, 'active')"
outsider=$(grep ' offered 1 ' $T/r1 | head -1 | cut -d' ' -f1)
"$HTTPS" --connect 127.0.0.1:$PORT --host 127.0.0.1 --ca $S/server-ca.pem --cert $T/devs/$outsider/device.pem \
	--key $T/devs/$outsider/device.key GET /v1/policy/2 > $T/o 2>&1
expect_eq "a device outside the stage cannot download version 2" "$(head -1 $T/o)" "404"
"$HTTPS" --connect 127.0.0.1:$PORT --host 127.0.0.1 --ca $S/server-ca.pem --cert $T/other/SN-OTHER-1/device.pem \
	--key $T/other/SN-OTHER-1/device.key GET /v1/policy/2 > $T/o 2>&1
expect_eq "  nor a device of another group" "$(head -1 $T/o)" "404"

# --- 25%: the 5% stay in
expect_rc "a stage below the current one is refused" 1 "$SRV" publish --dir $S --group home --stage 5%
expect_rc "then 25%" 0 "$SRV" publish --dir $S --group home --stage 25%
$SIM $PORT $S/server-ca.pem $T/devs > $T/r2 2>$T/r2.err
"$SRV" rollout --dir $S --group home > $T/ro3
in25=$(json_get $T/ro3 'd["stages"][1]["devices"]')
expect_eq "the 25% stage's new devices are offered version 2 (and apply it)" "$(grep -c ' offered 2 ran 1 now 2' $T/r2)" "$in25"
[ $((in5 + in25)) -ge 12 ] && [ $((in5 + in25)) -le 40 ] && ok "25% of $N is $((in5 + in25)) devices" || fail "25% holds $((in5 + in25))"
expect_eq "the first 5% still run version 2" "$(grep ' now 2$' $T/r2 | cut -d' ' -f1 | sort | comm -23 $T/stage5 - | wc -l)" "0"
expect_eq "the status has two stages, all applied" "$(json_get $T/ro3 '(len(d["stages"]), d["total"]["applied"], d["total"]["devices"])')" "(2, $((in5 + in25)), $((in5 + in25)))"

# --- version 3 to 5%: every device of its stage rejects it; the server halts it itself
expect_rc "version 3 to 5% of home" 0 "$SRV" publish --dir $S $T/p3 --group home --stage 5% --halt-at 20%
ls $T/devs > $T/all
$SIM $PORT $S/server-ca.pem $T/devs $T/all > $T/r3 2>$T/r3.err
in3=$(grep -c ' offered 3 ' $T/r3)
[ "$in3" -ge 1 ] && ok "version 3 offered to its 5% stage ($in3 devices)" || fail "version 3 offered to nobody"
rej3=$(tail -1 $T/r3 | json_get /dev/stdin 'd["rejected"]')
# a device offered it just before the halt may find it withdrawn when it downloads (404)
expect_eq "  who all refuse it and report policy_rejected (or find it withdrawn)" \
	"$(tail -1 $T/r3 | json_get /dev/stdin '(d["rejected"] + d["withdrawn"], d["errors"], d["rejected"] > 0)')" "($in3, 0, True)"
for _ in $(seq 50); do
	grep -q "rollout of version 3 to group home HALTED" $T/server.log && break
	sleep 0.2
done
"$SRV" rollout --dir $S --group home > $T/ro5
stage3=$(json_get $T/ro5 'd["total"]["devices"]')
# the server may halt it before the sync of every device of the stage is over: fewer are offered
[ "$in3" -le "$stage3" ] && ok "  of the $stage3 devices in the stage" || fail "offered $in3 of a stage of $stage3"
grep -qE "rollout of version 3 to group home HALTED: [1-9][0-9]* of $stage3 devices in the stage rejected it \([1-9][0-9]*\) or went silent after applying it \(0\): the threshold is 20%" $T/server.log &&
	ok "the running server halts the rollout by itself, saying why" || { fail "no halt"; grep -i rollout $T/server.log | tail -3 | sed 's/^/#  /'; }
expect_eq "the status shows it halted with the rejections" "$(json_get $T/ro5 '(d["state"], d["total"]["rejected"], "rejected it" in d["reason"])')" "('halted', $rej3, True)"
operator $S GET "/v1/admin/rollouts?group=home" > $T/api 2>&1
expect_eq "the operator API shows the same (GET /v1/admin/rollouts)" \
	"$(head -1 $T/api) $(sed 1d $T/api | json_get /dev/stdin '(d["rollouts"][0]["state"], d["rollouts"][0]["total"]["rejected"])')" "200 ('halted', $rej3)"
expect_eq "  and refuses a bad group" "$(operator $S GET "/v1/admin/rollouts?group=a/b" 2>&1 | head -1)" "400"
$SIM $PORT $S/server-ca.pem $T/devs > $T/r4 2>$T/r4.err
expect_eq "halted: nobody is offered version 3 any more" "$(grep -c ' offered 3 ' $T/r4)" "0"
expect_eq "  every device keeps what it runs (version 2 replaced, the group's is 1)" \
	"$(grep -c ' offered 1 ran 2 now 2' $T/r4):$(grep -c ' offered 1 ran 1 now 1' $T/r4)" "$((in5 + in25)):$((N - in5 - in25))"
expect_rc "halting a halted rollout is refused" 1 "$SRV" publish --dir $S --group home --halt

# --- a fixed version 4: the operator halts it, then takes it to 100%, the group's assignment
expect_rc "version 3 again to 5% is refused (the same version: stages only go up)" 1 "$SRV" publish --dir $S $T/p3 --group home --stage 5%
expect_rc "version 4 to 5% replaces the halted rollout" 0 "$SRV" publish --dir $S $T/p4 --group home --stage 5%
expect_rc "the operator halts it" 0 "$SRV" publish --dir $S --group home --halt
expect_eq "  halted by the operator" "$("$SRV" rollout --dir $S --group home | json_get /dev/stdin '(d["version"], d["state"], d["reason"])')" "(4, 'halted', 'halted by the operator')"
expect_rc "then 100% of version 4" 0 "$SRV" publish --dir $S --group home --stage 100%
$SIM $PORT $S/server-ca.pem $T/devs > $T/r5 2>$T/r5.err
expect_eq "100%: every device of the group is offered version 4 and applies it" "$(grep -c ' offered 4 .* now 4' $T/r5)" "$N"
expect_eq "  the rollout is over and the group's assignment is version 4" \
	"$("$SRV" rollout --dir $S --group home | json_get /dev/stdin 'd["state"]'):$(store_sql $S "SELECT version FROM assignments WHERE grp = 'home'")" "done:4"
expect_eq "a plain publish afterwards leaves the rollout over" "$("$SRV" publish --dir $S $T/p4 --group home >/dev/null; "$SRV" rollout --dir $S --group home | json_get /dev/stdin 'd["state"]')" "done"
expect_rc "the other group has no rollout" 1 "$SRV" rollout --dir $S --group other

stop_server
! grep -qE "AddressSanitizer|runtime error" $T/server.log && ok "no sanitizer finding in the server's log" ||
	{ fail "sanitizer finding"; grep -E -A5 "Sanitizer|runtime error" $T/server.log | head -20 | sed 's/^/#  /'; }
done_testing
