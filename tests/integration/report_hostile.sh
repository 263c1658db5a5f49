#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# A hostile (or compromised) central server, played by khien-testhttps
# --serve with the real server certificate: every answer asks for another
# sync and carries numbers no integer holds (1e52, 2^53 + 1). The agent
# must not spin (server-requested syncs are rate-limited), must not act on
# out-of-range numbers (undefined behaviour caught by the sanitizer build),
# and must keep filtering DNS.
. "$(dirname "$0")/lib.sh"
PORT=$(rand_port); UP=$((PORT + 1)); DNS=$((PORT + 2))
S=$T/srv
init_server $S $PORT || { fail "server init"; done_testing; }
"$SRV" provision --dir $S --device SN-HOSTILE-1 -o $T/dev >/dev/null || fail "provision"
chmod -R a+rX $T/dev
cat > $T/answer.json <<'J'
{"interval_s": 10, "events_acked": 9007199254740993, "acked": 1e52,
 "policy": {"version": 1e52, "size": 1e52, "sha256": "00"},
 "commands": [{"id": 1e52, "type": "sync"}, {"id": 9007199254740993, "type": "sync"},
              {"id": 7, "type": "sync"}]}
J
start_upstream $UP 1 || exit 1
"$HTTPS" --serve 127.0.0.1:$PORT --ca $S/device-ca.pem --cert $S/server.pem --key $S/server.key \
	--answer $T/answer.json --for 6 > $T/hostile.out 2>&1 &
HPID=$!
PIDS+=($HPID)
sleep 0.3
start_khiend -c $T/dev/khiend.json --listen 127.0.0.1:$DNS --upstream 127.0.0.1:$UP --user khien ||
	{ fail "khiend starts"; done_testing; }
ctl sync --no-wait >/dev/null
wait $HPID
cat $T/hostile.out | sed 's/^/# /'
checkins=$(awk '{print $4}' $T/hostile.out)
[ -n "$checkins" ] && [ "$checkins" -ge 1 ] && ok "the agent checked in with the hostile server ($checkins)" ||
	fail "no check-in reached the hostile server"
[ -n "$checkins" ] && [ "$checkins" -le 3 ] && ok "server-requested syncs are rate-limited ($checkins check-ins in 6 s)" ||
	fail "the agent re-synced $checkins times in 6 s"
kill -0 $KPID 2>/dev/null && ok "khiend survives the hostile answers" || fail "khiend died"
dig +time=2 +tries=1 @127.0.0.1 -p $DNS ok.example | grep -q "status: NOERROR" &&
	ok "and keeps answering DNS" || fail "DNS stopped"
grep -q "check-in answer refused: events_acked: expected" $T/khiend.log &&
	ok "the malformed answer is refused as a whole, naming the field ($(grep -o 'check-in answer refused: [^)]*' $T/khiend.log | head -1 | cut -c1-90))" ||
	fail "no refusal naming the field: $(grep -i 'sync' $T/khiend.log | head -3)"
expect_eq "no out-of-range policy version was taken" \
	"$(ctl status | json_get /dev/stdin 'd["report"]["assigned_policy"]')" "0"
stop_khiend
done_testing
