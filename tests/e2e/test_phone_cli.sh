#!/usr/bin/env bash
# End-to-end tests of the `desk phone` commands against the real frontdeskd
# on a fresh demo database: the PBX surface (`call incoming --json` prints
# the extensions to ring), answer / hold / resume / end from a desk, the
# admin verbs (changing and removing included), care teams, local times,
# the on-call rota, messages, callbacks, stats, exit codes for bad input. Prints
# "@@ passed=P failed=F" for tests/run.sh.
set -uo pipefail

# shellcheck source=tests/e2e/cli_lib.sh
. "$(dirname "$0")/cli_lib.sh"
cli_start phone_cli
export XDG_CONFIG_HOME=$work/admin

r1() { XDG_CONFIG_HOME=$work/r1 "$desk" "$@"; }

expect "admin logs in" 0 env FRONTDESK_PASSWORD=test-password-1 "$desk" login --user admin --desk front-1
expect "reception1 logs in at front-2" 0 env FRONTDESK_PASSWORD=test-password-1 XDG_CONFIG_HOME=$work/r1 "$desk" login --user reception1 --desk front-2
for words in "call incoming" "call route" "call list" "call answer" "call transfer" "call hold" \
	"call resume" "call end" "presence set" "presence list" "message take" "message list" \
	"message done" "message assign" "callback list" "callback done" "calls stats" \
	"phone lines" "phone line-add" "phone queues" "phone queue-save" "phone member" \
	"phone extension" "phone rules" "phone rule-add" "phone rule-delete" "phone hours" \
	"phone holiday" "phone override" "phone rule-update" "phone line-update" "phone line-delete" \
	"phone queue-delete" "phone holiday-delete" "phone listed-add" "phone listed-delete" \
	"phone time-conditions" "phone on-call" "phone on-call-add" "phone on-call-update" \
	"phone on-call-delete" "phone care-teams" "phone care-team-save" "phone care-team-delete" \
	"phone care-team-provider"; do
	# shellcheck disable=SC2086 # two words: noun and verb
	"$desk" $words --help >/dev/null 2>&1 || bad "$words --help" "exit $?"
done
ok "every phone command has --help"

# The clock of the test run must not decide: force the clinic open.
expect "front desk may force the clinic open" 0 "$desk" phone override --set open --reason "test run"
expect "queues --json" 0 "$desk" --json phone queues
json_check "the demo queues are listed" '{q["code"] for q in d["queues"]} >= {"front", "nurses", "billing"}'
expect "rules list" 0 "$desk" phone rules
expect "route dry run --json" 0 "$desk" --json call route --from +15550001234 --line main --menu billing
json_check "the billing menu goes to billing" 'd["decision"]["rule"] == "menu-billing" and d["decision"]["queue"] == "billing"'
json_check "the route has a trace" 'len(d["decision"]["trace"]) >= 2'

expect "reception1 becomes available" 0 r1 presence set available
expect "incoming --json (the PBX surface)" 0 "$desk" --json call incoming --from +15550001234 --line main
json_check "it rings reception1 at extension 201" 'd["extensions"] == ["201"] and d["call"]["state"] == "waiting"'
call=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["call"]["id"])' "$work/out")
expect "calls lists it" 0 "$desk" call list
if grep -q "+15550001234" "$work/out"; then ok "the caller shows in calls"; else bad "the caller shows in calls" "$(cat "$work/out")"; fi
expect "reception1 answers" 0 r1 call answer "$call"
expect "a second answer is refused (65)" 65 "$desk" call answer "$call"
expect "hold" 0 r1 --json call hold "$call"
json_check "the call is on hold" 'd["call"]["state"] == "on_hold"'
expect "resume" 0 r1 call resume "$call"
expect "transfer to someone offline is refused (65)" 65 r1 call transfer "$call" --to billing1
expect "transfer to a name that is nobody and no queue (66)" 66 r1 call transfer "$call" --to nobody-here
expect "end" 0 r1 --json call end "$call"
json_check "ended as handled" 'd["call"]["state"] == "ended" and d["call"]["disposition"] == "handled"'
expect "ending it again is refused (65)" 65 r1 call end "$call"
expect "a second call comes in" 0 "$desk" --json call incoming --from +15550001235 --line main
call2=$(json_get 'd["call"]["id"]')
expect "reception1 answers it" 0 r1 call answer "$call2"
expect "--to names a queue: the call goes to that queue" 0 r1 --json call transfer "$call2" --to billing
json_check "the call waits in billing" 'd["call"]["queue"] == "billing" and d["call"]["state"] in ("waiting", "ringing")'
expect "a queue named like a user" 0 "$desk" phone queue-save --code billing1 --name "Billing overflow"
expect "--to naming both a user and a queue is refused (65)" 65 r1 call transfer "$call2" --to billing1
if grep -q "both a staff member and a queue" "$work/err"; then ok "the refusal says to choose"
else bad "the refusal says to choose" "$(cat "$work/err")"; fi
expect "a number that is not a phone number (65)" 65 "$desk" call incoming --from 555-1234 --line main
expect "an unknown line (66)" 66 "$desk" call incoming --from +15550001234 --line nowhere
expect "an unknown call (66)" 66 "$desk" call answer 999999
expect "the call id as a word or --id, not both words (64)" 64 "$desk" call answer 12 13
expect "a word that is not an id (64)" 64 "$desk" call answer twelve

expect "take a message" 0 "$desk" --json message take --queue front --number +15550004321 --reason "call back about results" --caller "Pat"
msg=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["message"]["id"])' "$work/out")
expect "messages --json" 0 "$desk" --json message list --queue front
json_check "the new message is in the front inbox" "any(m['id'] == $msg for m in d['messages'])"
expect "message done" 0 "$desk" message done "$msg"
expect "done twice is refused (65)" 65 "$desk" message done "$msg"
expect "stats --json" 0 "$desk" --json calls stats --queue front
json_check "the answered call is counted" 'd["queues"][0]["answered"] >= 1 and d["queues"][0]["offered"] >= 1'
expect "an impossible date is refused (65)" 65 "$desk" calls stats --date 2024-02-30
expect "a rule set cannot lose its fallback (65)" 65 "$desk" phone rule-delete --name fallback-front-desk
expect "front desk may not add rules (77)" 77 r1 phone rule-add --name x --priority 5 --condition always --action voicemail --box x
expect "control characters in a reason are refused (65)" 65 "$desk" message take --queue front --number +15550004321 --reason $'\e[31mhi'

# --at takes a local time at the line's location (a Tuesday; the test
# run's "open" override starts now, so it does not cover the past), or
# unix seconds as before.
expect "route --at a local time in office hours" 0 "$desk" --json call route --from +15550001234 --line main --menu billing --at 2026-11-24T10:30
json_check "open then: the billing menu decides" 'd["decision"]["rule"] == "menu-billing" and d["decision"]["time_state"] == "open"'
expect "route --at a local evening time" 0 "$desk" --json call route --from +15550001234 --line main --at "2026-11-24 22:00"
json_check "after hours then" 'd["decision"]["time_state"] == "after_hours"'
expect "route --at unix seconds still works" 0 "$desk" --json call route --from +15550001234 --line main --at 1764000000
expect "route --at a time the clocks skip (65)" 65 "$desk" call route --from +15550001234 --line main --at 2026-03-08T02:30
expect "route --at nonsense (65)" 65 "$desk" call route --from +15550001234 --line main --at tomorrow

# Care teams: the demo's patient of Dr. Smith reaches the family team's
# nurses on the nurse line.
expect "care-teams --json" 0 "$desk" --json phone care-teams
json_check "the demo teams and their nurse lines" '{(t["code"], t["nurse_queue"]) for t in d["teams"]} >= {("family-team", "nurses"), ("peds-team", "peds-nurses")} and "smith" in [t for t in d["teams"] if t["code"] == "family-team"][0]["providers"]'
expect "route a patient of Dr. Smith on the nurse line" 0 "$desk" --json call route --from +15552000003 --line nurse --at 2026-11-24T10:30
json_check "their care team's nurse line decides" 'd["decision"]["rule"] == "nurse-line-care-team" and d["decision"]["queue"] == "nurses" and "Dr. Jane Smith" in d["decision"]["reason"]'
expect "care-team-save" 0 "$desk" --json phone care-team-save --code cli-team --name "CLI team" --nurse-queue billing
expect "care-team-provider moves Dr. Lee" 0 "$desk" --json phone care-team-provider --team cli-team --provider lee
json_check "Dr. Lee is on the new team" 'd["team"]["providers"] == ["lee"] and d["team"]["nurse_queue"] == "billing"'
expect "a queue used as a nurse line cannot go (65)" 65 "$desk" phone queue-delete --code billing
expect "care-team-delete" 0 "$desk" phone care-team-delete --code cli-team
expect "an unknown provider (66)" 66 "$desk" phone care-team-provider --team peds-team --provider nobody

# Changing and removing configuration.
expect "a line with rules cannot go (65)" 65 "$desk" phone line-delete --code nurse
expect "line-add a spare" 0 "$desk" phone line-add --code spare --name Spare --number +15550100099
expect "line-update" 0 "$desk" --json phone line-update --code spare --number +15550100098
json_check "the number changed" 'd["line"]["number"] == "+15550100098"'
expect "line-delete an unused line" 0 "$desk" phone line-delete --code spare
expect "rule-update keeps a menu rule working" 0 "$desk" phone rule-update --name menu-billing --priority 63 --condition menu --menu billing --action queue --queue billing
expect "the last fallback must stay one (65)" 65 "$desk" phone rule-update --name fallback-front-desk --priority 9000 --condition open --action queue --queue front
expect "queue-save front overflows to billing" 0 "$desk" phone queue-save --code front --overflow queue --overflow-queue billing
expect "a loop back is refused (65)" 65 "$desk" phone queue-save --code billing --overflow queue --overflow-queue front
if grep -q "billing -> front -> billing" "$work/err"; then ok "the refusal names the loop"; else bad "the refusal names the loop" "$(cat "$work/err")"; fi
expect "front back to taking messages" 0 "$desk" phone queue-save --code front --overflow message
expect "holiday then holiday-delete" 0 "$desk" phone holiday --date 2031-01-01 --name "New Year"
expect "time-conditions --json" 0 "$desk" --json phone time-conditions
json_check "hours, the holiday and the zone" 'd["time_zone"] == "America/New_York" and any(h["date"] == "2031-01-01" for h in d["holidays"]) and len(d["hours"]) == 5'
expect "holiday-delete" 0 "$desk" phone holiday-delete --date 2031-01-01
expect "holiday-delete again (66)" 66 "$desk" phone holiday-delete --date 2031-01-01
expect "listed-add" 0 "$desk" phone listed-add --number +15550107000 --name "Hill Hospital" --queue nurses
expect "listed-delete" 0 "$desk" phone listed-delete --number +15550107000

# The on-call rota in local time.
expect "on-call-add in local time" 0 "$desk" --json phone on-call-add --user nurse1 --number +15550108888 --from 2031-02-03T17:00 --until 2031-02-04T08:00
json_check "it reads back in local time" 'd["entry"]["starts_local"] == "2031-02-03T17:00" and d["entry"]["ends_local"] == "2031-02-04T08:00"'
oncall=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["entry"]["id"])' "$work/out")
expect "an overlapping entry is refused (65)" 65 "$desk" phone on-call-add --user drsmith --number +15550108889 --from 2031-02-04T07:00 --until 2031-02-04T17:00
expect "on-call-update moves it" 0 "$desk" --json phone on-call-update --id "$oncall" --until 2031-02-04T09:00
json_check "moved" 'd["entry"]["ends_local"] == "2031-02-04T09:00"'
expect "on-call lists it" 0 "$desk" --json phone on-call
json_check "the entry is on the rota" "any(e['id'] == $oncall for e in d['entries'])"
expect "on-call-delete" 0 "$desk" phone on-call-delete --id "$oncall"
expect "message-take --due a local time" 0 "$desk" --json message take --queue front --number +15550004322 --reason "call back" --due 2031-02-05T09:15
json_check "due then" 'd["message"]["callback_due_unix_ms"] == 1928067300000'
expect "a due time the clocks skip (65)" 65 "$desk" message take --queue front --number +15550004322 --reason "call back" --due 2031-03-09T02:30
expect "callbacks --json" 0 "$desk" --json callback list --queue front
json_check "callbacks come in place order" 'all(a["place_unix_ms"] <= b["place_unix_ms"] for a, b in zip(d["callbacks"], d["callbacks"][1:]))'
expect "override cleared" 0 "$desk" phone override --clear

cli_finish
