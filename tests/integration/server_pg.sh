#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# The server suite's store-checking tests again, on PostgreSQL: the same
# scripts with KHIEN_TEST_DB=pg (lib.sh's init_server gives every instance a
# database of its own) and the API unit test on a database, all in one
# throwaway cluster this script starts (initdb as the postgres user, a Unix
# socket in a temporary directory, no TCP) and removes. Also: what the
# backend refuses, and that the schema is migrated by version.
. "$(dirname "$0")/lib.sh"

if [ ! -x "$PG_BIN/initdb" ] || ! id postgres >/dev/null 2>&1; then
	skip "the server tests on PostgreSQL" "PostgreSQL is not installed ($PG_BIN; scripts/deps.sh test installs it)"
	done_testing
fi
pg_start || { fail "a throwaway PostgreSQL cluster starts"; done_testing; }
ok "a throwaway PostgreSQL cluster starts (socket only)"
expect_eq "it listens on no TCP port" "$("$PG_BIN/psql" -X -At -h "$PG_DIR" -U khien postgres -c 'SHOW listen_addresses')" ""
export PG_DIR KHIEN_TEST_DB=pg

# the backend itself
PORT=$(rand_port)
url=$(pg_newdb)
expect_rc "a URL carrying a password is refused (it would show in ps)" 1 \
	"$SRV" init --dir $T/pw --url https://127.0.0.1:$PORT --database "postgresql://khien:secret@/x?host=$PG_DIR"
grep -q "carries a password" $T/err && ok "  and the refusal says where a password goes" || fail "password refusal: $(cat $T/err)"
expect_rc "an unreachable database stops init" 1 \
	"$SRV" init --dir $T/gone --url https://127.0.0.1:$PORT --database "postgresql://khien@/nosuchdb?host=$PG_DIR"
grep -q 'cannot connect.*nosuchdb' $T/err && ok "  naming the database" || fail "unreachable: $(cat $T/err)"
[ ! -e $T/gone/server.json ] && ok "  and leaves no configuration behind" || fail "configuration written"
init_server $T/s $PORT || fail "init on PostgreSQL"
expect_eq "the configuration names the database, not a file" "$(json_get $T/s/server.json 'd["database"]'):$(ls $T/s/khien.db 2>/dev/null)" "$(json_get $T/s/server.json 'd["database"]'):"
expect_eq "the schema is at the version SQLite records" "$(store_version $T/s)" "9"
"$SRV" provision --dir $T/s --device SN-PG-1 -o $T/d1 >/dev/null || fail "provision"
# a database made by release 1 (no columns of versions 2-4): migrated in place when opened
store_sql $T/s "ALTER TABLE devices DROP COLUMN quota_bytes" >/dev/null
store_sql $T/s "DROP TABLE audit" >/dev/null
store_sql $T/s "UPDATE khien_schema SET version = 1" >/dev/null
"$SRV" devices --dir $T/s > $T/devs || fail "open a version-1 database"
expect_eq "a version-1 database is migrated to 9" "$(store_version $T/s):$(store_sql $T/s "SELECT count(*) FROM information_schema.columns WHERE table_name = 'devices' AND column_name = 'quota_bytes'"):$(store_sql $T/s 'SELECT count(*) FROM audit'):$(store_sql $T/s 'SELECT count(*) FROM mirrors'):$(store_sql $T/s 'SELECT count(*) FROM rollouts')" "9:1:0:0:0"
expect_eq "  keeping its devices" "$(json_get $T/devs 'd["serial"]')" "SN-PG-1"
# the password from a file named in the configuration (a role that needs one)
"$PG_BIN/psql" -X -q -h "$PG_DIR" -U khien postgres -c "CREATE ROLE khien_pw LOGIN PASSWORD 'pw-$$'" || fail "role"
db=$(json_get $T/s/server.json 'd["database"]')
# trust auth accepts anyone on the socket: ask for a password for this role only
echo "local all khien_pw scram-sha-256" > "$PG_DIR/hba" && cat "$PG_DIR/data/pg_hba.conf" >> "$PG_DIR/hba" &&
	cp "$PG_DIR/hba" "$PG_DIR/data/pg_hba.conf" && chown postgres: "$PG_DIR/data/pg_hba.conf" &&
	"$PG_BIN/psql" -X -q -h "$PG_DIR" -U khien postgres -c "SELECT pg_reload_conf()" >/dev/null
dbname=${db#postgresql://khien@/}; dbname=${dbname%%\?*}
"$PG_BIN/psql" -X -q -h "$PG_DIR" -U khien $dbname -c "GRANT ALL ON ALL TABLES IN SCHEMA public TO khien_pw; GRANT ALL ON SCHEMA public TO khien_pw" >/dev/null
py "json.dump(dict(json.load(open('$T/s/server.json')), database='postgresql://khien_pw@/$dbname?host=$PG_DIR'), open('$T/s/server.json', 'w'))"
expect_rc "without its password the role cannot connect" 3 env -u PGPASSWORD PGPASSFILE=/nonexistent "$SRV" devices --dir $T/s
echo "pw-$$" > $T/pw.txt && chmod 600 $T/pw.txt
py "json.dump(dict(json.load(open('$T/s/server.json')), database_password_file='$T/pw.txt'), open('$T/s/server.json', 'w'))"
expect_eq "with database_password_file it can" "$(env -u PGPASSWORD PGPASSFILE=/nonexistent "$SRV" devices --dir $T/s | json_get /dev/stdin 'd["serial"]')" "SN-PG-1"
py "json.dump({k: v for k, v in json.load(open('$T/s/server.json')).items() if k != 'database_password_file'}, open('$T/s/server.json', 'w'))"
expect_eq "and so with PGPASSWORD" "$(PGPASSWORD=pw-$$ "$SRV" devices --dir $T/s | json_get /dev/stdin 'd["serial"]')" "SN-PG-1"

# two instances on one database serve one fleet with no other coordination
init_server $T/i1 $((PORT + 2)) || fail "instance 1"
cp -r $T/i1 $T/i2
py "json.dump(dict(json.load(open('$T/i2/server.json')), url='https://127.0.0.1:$((PORT + 3))', listen='127.0.0.1:$((PORT + 3))'), open('$T/i2/server.json', 'w'))"
"$SRV" provision --dir $T/i1 --device SN-TWO -o $T/two >/dev/null || fail "provision on instance 1"
start_server $T/i1 || fail "instance 1 runs"
start_server $T/i2 || fail "instance 2 runs"
echo '{"firmware": "fw-2", "hardware_id": "t", "policy": {"version": 0}}' > $T/ci.json
expect_eq "a device provisioned through one instance checks in to the other" "$(as_device $T/i2 $T/two POST /v1/checkin --body $T/ci.json | head -1)" "200"
expect_eq "  and the first instance sees it" "$("$SRV" devices --dir $T/i1 | json_get /dev/stdin '(d["checkins"], d["firmware"])')" "(1, 'fw-2')"
echo '{"events": [{"seq": 1, "time": 1, "type": "dns_blocked", "severity": "high", "data": {}}, {"seq": 2, "time": 2, "type": "dns_blocked", "severity": "low", "data": {}}], "dropped": 0}' > $T/ev.json
as_device $T/i1 $T/two POST /v1/events --body $T/ev.json > $T/e1
as_device $T/i2 $T/two POST /v1/events --body $T/ev.json > $T/e2
expect_eq "an upload repeated through the other instance is stored once" "$(sed 1d $T/e1 | json_get /dev/stdin '(d["acked"], d["stored"])') $(sed 1d $T/e2 | json_get /dev/stdin '(d["acked"], d["stored"])') $("$SRV" events --dir $T/i2 --device SN-TWO | wc -l)" "(2, 2) (2, 0) 2"
# what a group is assigned is cached by each instance; a publish by another
# process reaches it through the tables' notifications, not after a timeout
"$KHIEN_BUILD/khien-policy" compile -q -o $T/two.idx --list malware=$FIX/lists/malware.hosts >/dev/null 2>&1
"$KHIEN_BUILD/khien-policy" bundle --key $T/i1/dev-keys/policy.key --version 3 --expires +1d \
	--component blocklist=$T/two.idx -o $T/two.bundle >/dev/null || fail "bundle for two instances"
as_device $T/i2 $T/two POST /v1/checkin --body $T/ci.json >/dev/null # the cache holds "nothing assigned"
"$SRV" publish --dir $T/i1 $T/two.bundle >/dev/null || fail "publish through the CLI"
expect_eq "a publish by another process: the next check-in at the other instance names it" \
	"$(as_device $T/i2 $T/two POST /v1/checkin --body $T/ci.json | sed 1d | json_get /dev/stdin 'd["policy"]["version"]')" "3"
store_sql $T/i1 "DELETE FROM assignments" >/dev/null
expect_eq "  and so a hand-made change to the table" \
	"$(as_device $T/i2 $T/two POST /v1/checkin --body $T/ci.json | sed 1d | json_get /dev/stdin 'd["policy"]')" "None"
expect_eq "  and counted once by the dashboard's hourly counts" "$(store_sql $T/i1 "SELECT sum(n) FROM event_counts WHERE kind = 1")" "2"
expect_eq "revoked through one instance" "$(operator $T/i1 POST /v1/admin/devices/SN-TWO/revoke --body $T/ci.json | head -1)" "200"
expect_eq "  the other refuses the device at once" "$(as_device $T/i2 $T/two POST /v1/checkin --body $T/ci.json 2>/dev/null | head -1)" "403"
cleanup_pids

# the API unit test on an empty database of its own
KHIEN_TEST_STORE=$(pg_newdb) "$KHIEN_BUILD/tests/test_api" > $T/unit.out 2>&1
rc=$?
sed -E 's/^(not ok|ok) (- )?/\1 - [pg unit\/test_api] /' $T/unit.out | grep -E '^(not )?ok'
[ $rc -eq 0 ] || fail "[pg unit/test_api] exited with status $rc"

# the store-checking integration scripts, on PostgreSQL
# KHIEN_PG_SCRIPTS: a subset, when debugging
for s in ${KHIEN_PG_SCRIPTS-server_e2e server_refusals server_quota audit_e2e report_outage report_hostile server_forward web_warnings report_failover policy_mirror server_rollout server_dashboard}; do
	"$KHIEN_TOP/tests/integration/$s.sh" > $T/$s.out 2>&1
	rc=$?
	sed -E "s/^(not ok|ok) - /\1 - [pg $s] /; /^(not )?ok/!s/^/# /" $T/$s.out | grep -vE '^# $'
	grep -q '^not ok' $T/$s.out || [ $rc -eq 0 ] || fail "[pg $s] exited with status $rc"
done
done_testing
