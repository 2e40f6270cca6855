#!/usr/bin/env bash
# End-to-end tests of the scheduling `desk` commands against the real
# frontdeskd on a fresh demo clinic: provider/type/room lists, slot search,
# book/show/confirm/reschedule/cancel, the schedule view, admin verbs, exit
# codes from sysexits.h, JSON output, and that names from the database are
# printed escaped. Prints "@@ passed=P failed=F" for tests/run.sh.
set -uo pipefail

# shellcheck source=tests/e2e/cli_lib.sh
. "$(dirname "$0")/cli_lib.sh"
cli_start sched_cli
# Patients the demo gave no appointments: a demo patient's own visit today
# (the demo books some at fixed local times) could fall on the first free
# slot, and a patient is never offered or booked twice at one time, so the
# run would depend on the time of day.
free_patients="SELECT id FROM patients p WHERE NOT EXISTS (SELECT 1 FROM appointments a WHERE a.patient_id = p.id)"
patient=$(psql -qtA -d "$db" -c "$free_patients ORDER BY id LIMIT 1")

expect "slots before login is refused (77)" 77 "$desk" slots --type checkup
expect "front desk login" 0 sh -c "echo test-password-1 | '$desk' login --user reception1 --desk front-1 --password-stdin"
expect "provider list" 0 "$desk" provider list
if grep -q "Dr. Jane Smith" "$work/out"; then ok "the demo providers are listed"; else bad "the demo providers are listed" "$(cat "$work/out")"; fi
expect "type list --json" 0 "$desk" --json type list
json_check "the demo types are listed with durations" 'any(t["code"] == "checkup" and t["duration_min"] == 20 for t in d["types"])'
expect "slots needs --type (64)" 64 "$desk" slots
expect "slots --help" 0 "$desk" slots --help
expect "first available check-up" 0 "$desk" --json slots --type checkup --first
json_check "one slot comes back" 'len(d["slots"]) == 1 and d["slots"][0]["time_zone"] == "America/New_York"'
at=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["slots"][0]["starts_local"])' "$work/out")
provider=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["slots"][0]["provider"])' "$work/out")
expect "slots for one provider in the morning" 0 "$desk" --json slots --type consult --provider smith --morning --limit 5
json_check "morning slots start before noon" 'd["slots"] and all(s["starts_local"][11:13] < "12" for s in d["slots"])'

expect "book the first available slot" 0 "$desk" --json appt book --patient "$patient" --provider "$provider" --type checkup --at "$at" --reason "annual check"
json_check "the booking is at the asked wall-clock time" 'd["appointment"]["starts_local"] == "'"$at"'" and d["appointment"]["status"] == "booked"'
appt=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["appointment"]["id"])' "$work/out")
expect "the same slot again is taken (65)" 65 "$desk" appt book --patient "$patient" --provider "$provider" --type checkup --at "$at"
if grep -q "just taken; next free" "$work/err"; then ok "the loser hears the next free slots"; else bad "the loser hears the next free slots" "$(cat "$work/err")"; fi
if grep -q "hint: pick one of the next free times" "$work/err" && ! grep -q "another name" "$work/err"; then
	ok "the hint talks about times, not names"; else bad "the hint talks about times, not names" "$(cat "$work/err")"; fi
expect "Feb 30 is refused (65)" 65 "$desk" appt book --patient "$patient" --provider smith --type checkup --at "2030-02-30 09:00"
expect "an unknown provider is not found (66)" 66 "$desk" appt book --patient "$patient" --provider nobody --type checkup --at "$at"
expect "overbooking is not for the front desk (77)" 77 "$desk" appt book --patient "$patient" --provider "$provider" --type checkup --at "$at" --overbook --overbook-reason "urgent"
expect "confirm" 0 "$desk" appt confirm "$appt"
expect "show with history" 0 "$desk" appt show "$appt"
if grep -q "booked -> confirmed" "$work/out" && grep -q reception1 "$work/out"; then ok "the history says who changed what"; else bad "the history says who changed what" "$(cat "$work/out")"; fi
expect "schedule of the day" 0 "$desk" schedule --provider "$provider" --date "${at:0:10}"
if grep -q "$appt" "$work/out"; then ok "the schedule shows the booking"; else bad "the schedule shows the booking" "$(cat "$work/out")"; fi
expect "a patient's appointments" 0 "$desk" --json appt list --patient "$patient"
json_check "the patient's list has the booking" 'any(a["id"] == '"$appt"' for a in d["appointments"])'
expect "today's no-shows" 0 "$desk" appt noshows
expect "reschedule needs --at (64)" 64 "$desk" appt reschedule "$appt"
expect "cancel needs a reason code (65)" 65 "$desk" appt cancel "$appt" --reason bored
waiter=$(psql -qtA -d "$db" -c "$free_patients AND id <> $patient ORDER BY id LIMIT 1")
expect "waitlist add --help" 0 "$desk" waitlist add --help
expect "waitlist add" 0 "$desk" --json waitlist add --patient "$waiter" --type checkup --provider "$provider" --priority 1 --note "wants earlier"
json_check "the entry is waiting" 'd["entry"]["status"] == "waiting" and d["entry"]["priority"] == 1'
entry=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["entry"]["id"])' "$work/out")
expect "waitlist add twice is refused (65)" 65 "$desk" waitlist add --patient "$waiter" --type checkup
if grep -q "hint: see the patient's entry" "$work/err"; then ok "the duplicate hint points at the entry"; else bad "the duplicate hint points at the entry" "$(cat "$work/err")"; fi
expect "a bad weekday is a usage error (64)" 64 "$desk" waitlist add --patient "$waiter" --type checkup --day funday
expect "accept without an offer is refused (65)" 65 "$desk" waitlist accept "$entry"
expect "cancel" 0 "$desk" appt cancel "$appt" --reason patient --note "feels better"
expect "waitlist list" 0 "$desk" --json waitlist list
json_check "the freed slot is held for the entry" 'any(e["id"] == '"$entry"' and e["status"] == "offered" and e["offer_starts_local"] == "'"$at"'" for e in d["entries"])'
expect "waitlist list as a table" 0 "$desk" waitlist list
if grep -q "offered" "$work/out"; then ok "the table shows the offer"; else bad "the table shows the offer" "$(cat "$work/out")"; fi
expect "the held slot is not bookable by others (65)" 65 "$desk" appt book --patient "$patient" --provider "$provider" --type checkup --at "$at"
if grep -q "held for a waitlist patient" "$work/err"; then ok "the desk hears the slot is held"; else bad "the desk hears the slot is held" "$(cat "$work/err")"; fi
expect "accept the offer" 0 "$desk" --json waitlist accept "$entry"
json_check "accepting books the held slot" 'd["entry"]["status"] == "booked" and d["entry"]["appointment_id"] > 0'
booked=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["entry"]["appointment_id"])' "$work/out")
expect "accept again" 0 "$desk" --json waitlist accept "$entry"
json_check "accepting again books nothing new" 'd["entry"]["appointment_id"] == '"$booked"
n=$(psql -qtA -d "$db" -c "SELECT count(*) FROM appointments WHERE patient_id = $waiter AND status = 'booked' AND id = $booked")
if [ "$n" = 1 ]; then ok "the waiting patient is booked once"; else bad "the waiting patient is booked once" "$n"; fi
expect "remove a booked entry is refused (65)" 65 "$desk" waitlist remove "$entry"
expect "hold is for admins (77)" 77 "$desk" waitlist hold --minutes 15
expect "cancel again is refused (65)" 65 "$desk" appt cancel "$appt" --reason patient
expect "show of an unknown appointment (66)" 66 "$desk" appt show 999999
expect "front desk may not change types (77)" 77 "$desk" type save --code x --name X --duration 20
expect "logout" 0 "$desk" logout

expect "admin login" 0 env FRONTDESK_PASSWORD=test-password-1 "$desk" login --user admin --desk front-1
expect "admin saves a type" 0 "$desk" type save --code physio --name "Physiotherapy" --duration 45 --buffer-after 15 --needs exam_room --per-day 6
expect "a 48-hour type is refused (65)" 65 "$desk" type save --code marathon --name "Too long" --duration 2880
expect "a control character in a name is refused (65)" 65 "$desk" provider save --code kim --name $'Kim \e[31mPark' --location main
expect "admin saves a provider" 0 "$desk" provider save --code kim --name $'Kim Pa\u202erk' --location main --type physio --specialty physiotherapy
expect "provider list shows it" 0 "$desk" provider list --type physio
if grep -q $'\u202e' "$work/out"; then bad "a bidi override in a name is printed escaped" "raw U+202E in output"
elif grep -q 'Kim' "$work/out"; then ok "a bidi override in a name is printed escaped"
else bad "a bidi override in a name is printed escaped" "$(cat "$work/out")"; fi
expect "admin adds a weekly window" 0 "$desk" template add --provider kim --weekday tue --start 08:00 --end 12:00
expect "an end before the start is refused (65)" 65 "$desk" template add --provider kim --weekday tue --start 12:00 --end 08:00
expect "admin adds a room" 0 "$desk" room save --code exam-9 --name "Exam room 9" --kind exam_room
expect "admin adds time off" 0 "$desk" exception add --provider kim --kind off --from "2030-01-01 08:00" --to "2030-01-10 18:00" --reason vacation
expect "admin adds a holiday" 0 "$desk" holiday add --date 2030-07-04 --name "Independence Day"
expect "holiday list" 0 "$desk" --json holiday list --from 2030-01-01 --to 2030-12-31
json_check "the holiday is listed" 'any(h["date"] == "2030-07-04" for h in d["holidays"])'
expect "template list" 0 "$desk" template list --provider kim
expect "admin sets the offer hold" 0 "$desk" waitlist hold --minutes 15

# A weekly series for kim (Tuesdays) with its third week already taken.
expect "kim's first physio slot" 0 "$desk" --json slots --type physio --provider kim --first
k1=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["slots"][0]["starts_local"])' "$work/out")
k3=$(python3 -c 'import datetime,sys; print((datetime.datetime.strptime(sys.argv[1], "%Y-%m-%d %H:%M") + datetime.timedelta(days=14)).strftime("%Y-%m-%d %H:%M"))' "$k1")
other=$(psql -qtA -d "$db" -c "$free_patients AND id NOT IN ($patient, $waiter) ORDER BY id LIMIT 1")
expect "the third week is booked by someone else" 0 "$desk" appt book --patient "$other" --provider kim --type physio --at "$k3"
expect "a series is all or nothing by default (65)" 65 "$desk" appt book --patient "$patient" --provider kim --type physio --at "$k1" --repeat weekly --count 3
if grep -q "occurrence" "$work/err" && grep -q "nothing was booked" "$work/err"; then ok "the refusal names the occurrence"; else bad "the refusal names the occurrence" "$(cat "$work/err")"; fi
n=$(psql -qtA -d "$db" -c "SELECT count(*) FROM appointments a JOIN providers p ON p.id = a.provider_id WHERE p.code = 'kim' AND a.patient_id = $patient")
if [ "$n" = 0 ]; then ok "nothing of the refused series was written"; else bad "nothing of the refused series was written" "$n"; fi
expect "a series needs --count (64)" 64 "$desk" appt book --patient "$patient" --provider kim --type physio --at "$k1" --repeat weekly
expect "a partial series books around the conflict" 0 "$desk" --json appt book --patient "$patient" --provider kim --type physio --at "$k1" --repeat weekly --count 3 --partial
json_check "the conflict is reported with alternatives" 'len(d["occurrences"]) == 3 and d["occurrences"][0]["appointment"] and d["occurrences"][2]["appointment"] is None and d["occurrences"][2]["status"] == "ALREADY_EXISTS" and d["occurrences"][2]["next_free"]'
expect "a partial series as text" 0 "$desk" appt book --patient "$other" --provider kim --type physio --at "$k3" --repeat weekly --count 2 --partial
if grep -q "NOT booked" "$work/out" && grep -q "next free" "$work/out"; then ok "the text report lists the refused occurrence"; else bad "the text report lists the refused occurrence" "$(cat "$work/out")"; fi

cli_finish
