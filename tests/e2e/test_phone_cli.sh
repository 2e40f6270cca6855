#!/usr/bin/env bash
# End-to-end tests of the `desk phone` commands against the real frontdeskd
# on a fresh demo database: the PBX surface (`phone incoming --json` prints
# the extensions to ring), answer / hold / resume / end from a desk, the
# admin verbs, messages, stats, exit codes for bad input. Prints
# "@@ passed=P failed=F" for tests/run.sh.
set -uo pipefail

# shellcheck source=tests/e2e/cli_lib.sh
. "$(dirname "$0")/cli_lib.sh"
cli_start phone_cli
export XDG_CONFIG_HOME=$work/admin

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

cli_finish
