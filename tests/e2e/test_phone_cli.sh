#!/usr/bin/env bash
# End-to-end tests of the `desk phone` commands against the real frontdeskd
# on a fresh demo database: the PBX surface (`phone incoming --json` prints
# the extensions to ring), answer / hold / resume / end from a desk, the
# admin verbs, messages, stats, exit codes for bad input. Prints
# "@@ passed=P failed=F" for tests/run.sh.
set -uo pipefail

bin=${FRONTDESK_BIN_DIR:?run through tests/run.sh}
desk=$bin/desk
pass=0 fail=0
work=$(mktemp -d)
db=t_phone_cli_$$
sock=ipc:///tmp/fdt-phone-$$.sock
events=ipc:///tmp/fdt-phone-ev-$$.sock
server_pid=

cleanup() {
	if [ -n "$server_pid" ]; then
		kill -TERM "$server_pid" 2>/dev/null
		wait "$server_pid" 2>/dev/null
	fi
	rm -rf "$work"
}
trap cleanup EXIT

ok() { pass=$((pass + 1)); echo "  ok   $1"; }
bad() { fail=$((fail + 1)); echo "  FAIL $1"; [ -n "${2:-}" ] && echo "    $2"; }

expect() {
	local name=$1 want=$2
	shift 2
	"$@" >"$work/out" 2>"$work/err"
	local got=$?
	if [ "$got" = "$want" ]; then ok "$name"; else
		bad "$name" "exit $got, wanted $want: $(head -c 400 "$work/err") $(head -c 400 "$work/out")"
	fi
}

# json_check NAME PYTHON-EXPR: evaluates EXPR with d = the last JSON output.
json_check() {
	if python3 -c "import json,sys; d=json.load(open(sys.argv[1])); assert $2, d" "$work/out" 2>"$work/pyerr"; then
		ok "$1"; else bad "$1" "$(tail -c 400 "$work/pyerr")"; fi
}

export XDG_CONFIG_HOME=$work/admin FRONTDESK_SERVER=$sock
export FRONTDESK_DB="dbname=$db" FRONTDESK_PASSWORD_HASH_COST=min
unset FRONTDESK_TOKEN FRONTDESK_PASSWORD

psql -q -d postgres -c "CREATE DATABASE $db" >/dev/null
"$bin/frontdeskd" migrate up >/dev/null
FRONTDESK_DEMO_PASSWORD=test-password-1 "$bin/frontdeskd" seed-demo >/dev/null
"$bin/frontdeskd" --listen="$sock" --events-listen="$events" serve 2>"$work/server.log" &
server_pid=$!
for _ in $(seq 100); do "$desk" ping >/dev/null 2>&1 && break; sleep 0.1; done

r1() { XDG_CONFIG_HOME=$work/r1 "$desk" "$@"; }

expect "admin logs in" 0 env FRONTDESK_PASSWORD=test-password-1 "$desk" login --user admin --desk front-1
expect "reception1 logs in at front-2" 0 env FRONTDESK_PASSWORD=test-password-1 XDG_CONFIG_HOME=$work/r1 "$desk" login --user reception1 --desk front-2
for verb in incoming route calls answer transfer hold resume end presence who lines line-add queues \
	queue-save member extension rules rule-add rule-delete hours holiday override message-take \
	messages message-done message-assign stats; do
	"$desk" phone "$verb" --help >/dev/null 2>&1 || bad "phone $verb --help" "exit $?"
done
ok "every phone command has --help"

# The clock of the test run must not decide: force the clinic open.
expect "front desk may force the clinic open" 0 "$desk" phone override --set open --reason "test run"
expect "queues --json" 0 "$desk" --json phone queues
json_check "the demo queues are listed" '{q["code"] for q in d["queues"]} >= {"front", "nurses", "billing"}'
expect "rules list" 0 "$desk" phone rules
expect "route dry run --json" 0 "$desk" --json phone route --from +15550001234 --line main --menu billing
json_check "the billing menu goes to billing" 'd["decision"]["rule"] == "menu-billing" and d["decision"]["queue"] == "billing"'
json_check "the route has a trace" 'len(d["decision"]["trace"]) >= 2'

expect "reception1 becomes available" 0 r1 phone presence --set available
expect "incoming --json (the PBX surface)" 0 "$desk" --json phone incoming --from +15550001234 --line main
json_check "it rings reception1 at extension 201" 'd["extensions"] == ["201"] and d["call"]["state"] == "waiting"'
call=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["call"]["id"])' "$work/out")
expect "calls lists it" 0 "$desk" phone calls
if grep -q "+15550001234" "$work/out"; then ok "the caller shows in calls"; else bad "the caller shows in calls" "$(cat "$work/out")"; fi
expect "reception1 answers" 0 r1 phone answer --id "$call"
expect "a second answer is refused (65)" 65 "$desk" phone answer --id "$call"
expect "hold" 0 r1 --json phone hold --id "$call"
json_check "the call is on hold" 'd["call"]["state"] == "on_hold"'
expect "resume" 0 r1 phone resume --id "$call"
expect "transfer to someone offline is refused (65)" 65 r1 phone transfer --id "$call" --to billing1
expect "end" 0 r1 --json phone end --id "$call"
json_check "ended as handled" 'd["call"]["state"] == "ended" and d["call"]["disposition"] == "handled"'
expect "ending it again is refused (65)" 65 r1 phone end --id "$call"
expect "a number that is not a phone number (65)" 65 "$desk" phone incoming --from 555-1234 --line main
expect "an unknown line (66)" 66 "$desk" phone incoming --from +15550001234 --line nowhere
expect "an unknown call (66)" 66 "$desk" phone answer --id 999999
expect "a stray word is a usage error (64)" 64 "$desk" phone answer 12

expect "take a message" 0 "$desk" --json phone message-take --queue front --number +15550004321 --reason "call back about results" --caller "Pat"
msg=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["message"]["id"])' "$work/out")
expect "messages --json" 0 "$desk" --json phone messages --queue front
json_check "the new message is in the front inbox" "any(m['id'] == $msg for m in d['messages'])"
expect "message done" 0 "$desk" phone message-done --id "$msg"
expect "done twice is refused (65)" 65 "$desk" phone message-done --id "$msg"
expect "stats --json" 0 "$desk" --json phone stats --queue front
json_check "the answered call is counted" 'd["queues"][0]["answered"] >= 1 and d["queues"][0]["offered"] >= 1'
expect "an impossible date is refused (65)" 65 "$desk" phone stats --date 2024-02-30
expect "a rule set cannot lose its fallback (65)" 65 "$desk" phone rule-delete --name fallback-front-desk
expect "front desk may not add rules (77)" 77 r1 phone rule-add --name x --priority 5 --condition always --action voicemail --box x
expect "control characters in a reason are refused (65)" 65 "$desk" phone message-take --queue front --number +15550004321 --reason $'\e[31mhi'
expect "override cleared" 0 "$desk" phone override --clear

expect "server stops cleanly" 0 kill -TERM "$server_pid"
wait "$server_pid"
rc=$?
server_pid=
if [ "$rc" = 0 ]; then ok "server exits 0 on SIGTERM"; else bad "server exits 0 on SIGTERM" "exit $rc"; fi
psql -q -d postgres -c "DROP DATABASE $db" >/dev/null 2>&1

echo "@@ passed=$pass failed=$fail"
[ "$fail" = 0 ]
