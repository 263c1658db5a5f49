#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# The whole system with real processes on loopback: khien-server init ->
# provision a device -> compile, sign and publish a policy -> khiend with the
# device identity checks in over mutual TLS, downloads, verifies and applies
# it within seconds -> blocked malware queries become events on the server.
# Then: a newer policy, the operator HTTPS API, conditional and ranged
# downloads, server commands, duplicate uploads, and a policy the server
# offers but the device refuses (the channel is never trusted on its own).
. "$(dirname "$0")/lib.sh"
P=$KHIEN_BUILD/khien-policy
L=$FIX/lists
PORT=$(rand_port); UP=$((PORT + 1)); DNS=$((PORT + 2))
S=$T/srv

init_server $S $PORT || { fail "server init"; done_testing; }
ok "server instance created"
[ "$KHIEN_TEST_DB" = pg ] && db= || db=khien.db
for f in device-ca.pem server-ca.pem server.pem server.key operator.token $db trust-root.json \
	dev-keys/policy.key; do
	[ -s "$S/$f" ] || fail "instance file $f"
done
expect_eq "operator token and keys are private" "$(stat -c %a $S/operator.token $S/server.key $S/device-ca.key | sort -u)" "600"
grep -q "DEVELOPMENT trust root" "$T/init.log" && ok "init says loudly that its policy keys are for development" ||
	fail "development warning"
expect_rc "a second init in the same directory is refused" 1 "$SRV" init --dir $S

# a store made by the previous release (no cert_not_after column) is migrated when opened
store_sql $S "ALTER TABLE devices DROP COLUMN cert_not_after"
# PostgreSQL records the version it reached: the previous release's said 1
[ "$KHIEN_TEST_DB" = pg ] && store_sql $S "UPDATE khien_schema SET version = 1"
"$SRV" provision --dir $S --device SN-E2E-1 --group home -o $T/dev1 >/dev/null || fail "provision"
expect_eq "an older store is migrated in place" "$(store_sql $S 'SELECT CASE WHEN cert_not_after > 0 THEN 1 ELSE 0 END FROM devices')|$(store_version $S)" "1|9"
for f in device.key device.pem server-ca.pem root.json khiend.json; do [ -s "$T/dev1/$f" ] || fail "provisioned $f"; done
expect_eq "device key mode" "$(stat -c %a $T/dev1/device.key)" "600"
expect_rc "provisioning a known serial again is refused" 1 "$SRV" provision --dir $S --device SN-E2E-1 -o $T/dupe

"$P" compile -q -o $T/idx1 --list malware=$L/malware.hosts --list gambling=$L/gambling.txt >/dev/null 2>&1
"$P" bundle --key $S/dev-keys/policy.key --version 1 --expires +30d --component blocklist=$T/idx1 -o $T/p1 >/dev/null
expect_rc "publish verifies and assigns a signed bundle" 0 "$SRV" publish --dir $S $T/p1
"$P" keygen -o $T/rogue >/dev/null
"$P" bundle --key $T/rogue.key --version 9 --expires +30d --component blocklist=$T/idx1 -o $T/rogue.bundle >/dev/null
expect_rc "publish refuses a bundle not signed under the trust root" 1 "$SRV" publish --dir $S $T/rogue.bundle
grep -q "REFUSED: signatures" "$T/err" && ok "publish says why" || fail "publish says why"

start_server $S || { fail "server starts"; done_testing; }
start_upstream $UP 1 || exit 1
# a short interval: the agent must pick up new policy on its own within seconds
python3 - "$T/dev1/khiend.json" <<'PY'
import json, sys
c = json.load(open(sys.argv[1])); c["report"]["interval_s"] = 10
json.dump(c, open(sys.argv[1], "w"))
PY
chmod -R a+rX $T/dev1
start_khiend -c $T/dev1/khiend.json --listen 127.0.0.1:$DNS --upstream 127.0.0.1:$UP \
	--hardware-id hw-e2e --user khien || { fail "khiend starts"; done_testing; }
version() { ctl status | json_get /dev/stdin 'd["policy"]["version"]'; }
t0=$(date +%s%N)
# (its first sync comes at a random moment within its 10 s interval)
for _ in $(seq 200); do [ "$(version)" = "1" ] && break; sleep 0.1; done
ms=$(( ($(date +%s%N) - t0) / 1000000 ))
expect_eq "the agent applies the published policy on its own, within its interval (${ms} ms)" "$(version)" "1"
D() { dig +time=3 +tries=1 @127.0.0.1 -p $DNS "$@"; }
expect_eq "its blocklist is enforced" "$(D malware-c2.example | grep -o 'status: [A-Z]*')" "status: NXDOMAIN"
expect_eq "allowed names still resolve" "$(D +short example.org)" "198.19.1.177"

# blocked malware queries become events on the server
D www.malware-c2.example >/dev/null
D -b 127.0.0.2 tracker.malware-c2.example >/dev/null # under the first rule: another client, else a repeat
D www.casino-example.com >/dev/null   # gambling: blocked, but not a security event
expect_rc "khienctl sync" 0 "$KHIEN_BUILD/khienctl" --control $CTL sync
"$SRV" events --dir $S --device SN-E2E-1 > $T/events
expect_eq "security events arrived, each once" "$(py "sorted(json.loads(l)['payload']['name'] for l in open('$T/events'))")" \
	"['malware-c2.example', 'tracker.malware-c2.example', 'www.malware-c2.example']"
expect_eq "event fields" "$(head -1 $T/events | json_get /dev/stdin '(d["device"], d["seq"], d["type"], d["severity"], d["payload"]["category"], d["payload"]["source"], d["id"] > 0, d["time"] > 0)')" \
	"('SN-E2E-1', 1, 'dns_blocked', 'high', 'malware', 'malware.hosts', True, True)"
expect_eq "client is a pseudonym, not an address" "$(head -1 $T/events | json_get /dev/stdin 'len(d["payload"]["client"]) == 16 and "." not in d["payload"]["client"]')" "True"
"$SRV" devices --dir $S > $T/devices
expect_eq "the server sees the device's check-in" "$(py "[(d['serial'], d['group'], d['policy_version'], d['hardware_id'], d['last_seq'], d['firmware'].startswith('khiend')) for d in map(json.loads, open('$T/devices'))]")" \
	"[('SN-E2E-1', 'home', 1, 'hw-e2e', 3, True)]"
expect_eq "events --since pages" "$("$SRV" events --dir $S --since 1 | wc -l)" "2"

# a newer policy reaches the device, blocking a new name
echo "fresh-threat.example" > $T/fresh.txt
"$P" compile -q -o $T/idx2 --list malware=$L/malware.hosts --list malware=$T/fresh.txt >/dev/null 2>&1
"$P" bundle --key $S/dev-keys/policy.key --version 2 --expires +30d --component blocklist=$T/idx2 -o $T/p2 >/dev/null
"$SRV" publish --dir $S --group home $T/p2 >/dev/null
"$KHIEN_BUILD/khienctl" --control $CTL sync >/dev/null
expect_eq "policy 2 applied after sync" "$(version)" "2"
expect_eq "and enforced" "$(D fresh-threat.example | grep -o 'status: [A-Z]*')" "status: NXDOMAIN"
expect_eq "server knows the device runs 2" "$("$SRV" devices --dir $S | json_get /dev/stdin 'd["policy_version"]')" "2"

# operator API over HTTPS (token), the same operations as the command line
operator $S GET /v1/admin/devices > $T/o1
expect_eq "GET /v1/admin/devices" "$(sed -n 1p $T/o1) $(sed 1d $T/o1 | json_get /dev/stdin '[x["serial"] for x in d["devices"]]')" "200 ['SN-E2E-1']"
operator $S GET "/v1/admin/events?since=0&device=SN-E2E-1&limit=2" > $T/o2
expect_eq "GET /v1/admin/events pages" "$(sed -n 1p $T/o2) $(sed 1d $T/o2 | json_get /dev/stdin '(len(d["events"]), d["next_since"])')" "200 (2, 2)"
"$P" bundle --key $S/dev-keys/policy.key --version 3 --expires +30d --component blocklist=$T/idx2 -o $T/p3 >/dev/null
operator $S POST "/v1/admin/policies?group=lab" --body $T/p3 > $T/o3
expect_eq "POST /v1/admin/policies publishes (group lab)" "$(sed -n 1p $T/o3) $(sed 1d $T/o3 | json_get /dev/stdin '(d["version"], d["group"])')" "201 (3, 'lab')"
operator $S POST "/v1/admin/policies" --body $T/rogue.bundle > $T/o4
expect_eq "the API refuses a rogue bundle too" "$(sed -n 1p $T/o4)" "422"
echo '{"serial": "SN-E2E-2", "group": "lab"}' > $T/prov.json
operator $S POST /v1/admin/devices --body $T/prov.json > $T/o5
expect_eq "POST /v1/admin/devices provisions" "$(sed -n 1p $T/o5) $(sed 1d $T/o5 | json_get /dev/stdin '("BEGIN EC PRIVATE KEY" in d["device_key"], "BEGIN CERTIFICATE" in d["device_cert"], json.loads(d["khiend_json"])["report"]["serial"])')" \
	"201 (True, True, 'SN-E2E-2')"
echo '{"type": "set_interval", "arg": "45"}' > $T/cmd.json
operator $S POST /v1/admin/devices/SN-E2E-1/commands --body $T/cmd.json > $T/o6
expect_eq "POST .../commands queues a command" "$(sed -n 1p $T/o6)" "201"
"$KHIEN_BUILD/khienctl" --control $CTL sync >/dev/null
expect_eq "the device obeys it at its next check-in" "$(ctl status | json_get /dev/stdin 'd["report"]["interval_s"]')" "45"
cmd_state() { store_sql $S "SELECT CASE WHEN delivered IS NULL THEN 0 ELSE 1 END FROM commands"; }
expect_eq "the command stays pending until the device reports it done" "$(cmd_state)" "0"
"$KHIEN_BUILD/khienctl" --control $CTL sync >/dev/null
expect_eq "done at the following check-in, never sent again" "$(cmd_state)" "1"

# downloads: conditional and ranged (what a device resumes with)
sha=$(sha256sum $T/p2 | cut -d' ' -f1); size=$(stat -c %s $T/p2)
as_device $S $T/dev1 GET /v1/policy/2 --header "If-None-Match: \"$sha\"" > $T/d1
expect_eq "If-None-Match on the current bundle: 304" "$(sed -n 1p $T/d1)" "304"
as_device $S $T/dev1 GET /v1/policy/2 --header "Range: bytes=100-" > $T/d2
expect_eq "Range: 206 with the rest" "$(sed -n 1p $T/d2)" "206"
as_device $S $T/dev1 GET /v1/policy/2 --header "Range: bytes=$size-" > $T/d3
expect_eq "Range past the end: 416" "$(sed -n 1p $T/d3)" "416"
as_device $S $T/dev1 GET /v1/policy/3 > $T/d4
expect_eq "a device cannot fetch another group's policy" "$(sed -n 1p $T/d4)" "404"

# duplicates: the server stores each (device, seq) once and acknowledges the highest
echo '{"events": [{"seq": 1, "time": 1, "type": "dns_blocked", "severity": "high", "data": {}}], "dropped": 0}' > $T/dup.json
as_device $S $T/dev1 POST /v1/events --body $T/dup.json > $T/u1
expect_eq "a replayed upload stores nothing new" "$(sed 1d $T/u1 | json_get /dev/stdin '(d["acked"], d["stored"])')" "(4, 0)"
expect_eq "still four events (the fresh threat was one)" "$("$SRV" events --dir $S --device SN-E2E-1 | wc -l)" "4"

# the server (or someone who took it over) offers a bundle the device refuses
cp $T/rogue.bundle $S/bundles/9.bundle
store_sql $S "INSERT INTO policies VALUES(9, '$(sha256sum $T/rogue.bundle | cut -d' ' -f1)', $(stat -c %s $T/rogue.bundle), 0, 0, $(date +%s), 'bundles/9.bundle')"
store_sql $S "UPDATE assignments SET version = 9 WHERE grp = 'home'"
"$KHIEN_BUILD/khienctl" --control $CTL sync >/dev/null
expect_eq "a forged bundle from the server is refused; policy 2 stays" "$(version)" "2"
"$KHIEN_BUILD/khienctl" --control $CTL sync >/dev/null
"$SRV" events --dir $S --device SN-E2E-1 > $T/events2
expect_eq "and the refusal is itself reported" "$(grep policy_rejected $T/events2 | json_get /dev/stdin '(d["severity"], d["payload"]["version"], "signature" in d["payload"]["reason"])')" \
	"('high', 9, True)"

# a download that fails (the server lost the file) is retried on its own
# schedule; check-ins keep their interval
"$P" bundle --key $S/dev-keys/policy.key --version 10 --expires +30d --component blocklist=$T/idx2 -o $T/p10 >/dev/null
"$SRV" publish --dir $S --group home $T/p10 >/dev/null
rm -f $S/bundles/10.bundle
"$KHIEN_BUILD/khienctl" --control $CTL sync > $T/s10
grep -q "ok, but policy 10: download: HTTP 503" $T/s10 && ok "a failed download is reported, the sync still works" ||
	fail "download failure: $(cat $T/s10)"
expect_eq "no backoff for check-ins; policy 2 stays" "$(ctl status | json_get /dev/stdin '(d["report"]["failures_in_a_row"], d["policy"]["version"])')" "(0, 2)"
stop_khiend

stop_server
grep -q "TLS 1.2" "$T/server.log" && ok "server log" || fail "server log"

# the dashboard reads the events' hourly counts (schema 9): each stored event once
evc() { store_sql $S "SELECT (SELECT count(*) FROM events) || ':' || (SELECT coalesce(sum(n), 0) FROM event_counts WHERE kind = 1) || ':' || (SELECT coalesce(sum(n), 0) FROM event_counts WHERE kind = 2)"; }
n=$(store_sql $S "SELECT count(*) FROM events")
expect_eq "every stored event is counted once by type and once by category" "$(evc)" "$n:$n:$n"
[ "$n" -gt 0 ] || fail "events to count"
# a store from before the counts: they are made from the events when it is opened
store_sql $S "DROP TABLE event_counts" >/dev/null
[ "$KHIEN_TEST_DB" = pg ] && store_sql $S "UPDATE khien_schema SET version = 8" >/dev/null
"$SRV" devices --dir $S >/dev/null || fail "open the store again"
expect_eq "  and made again from the events by the migration" "$(evc)" "$n:$n:$n"
done_testing
