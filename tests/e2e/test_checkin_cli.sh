#!/usr/bin/env bash
# End-to-end tests of the check-in `desk` commands against the real
# frontdeskd on a fresh demo clinic: the board, check-in (readiness
# refusal and override, walk-in), the flow with its refusals, rooming,
# payments (amount parsing, check numbers), receipts, voids by role,
# check-out, balance, one patient's payment list, the ledger reconciling
# with the database, exit codes from sysexits.h, JSON output, and names
# printed escaped.
# Prints "@@ passed=P failed=F" for tests/run.sh.
set -uo pipefail

# shellcheck source=tests/e2e/cli_lib.sh
. "$(dirname "$0")/cli_lib.sh"
cli_start checkin_cli

# A patient with no forms and no insurance (so readiness has gaps), whose
# name carries a terminal escape, booked at 'main' starting now (so it is
# today in the clinic's zone whatever the time of day).
patient=$(sql "INSERT INTO patients (family_name, given_name, date_of_birth)
               VALUES (E'Evil\\x1b[2J', 'Cli', '1970-05-05') RETURNING id")
appt=$(sql "SELECT set_config('frontdesk.reason', 'test', false);
            INSERT INTO appointments (patient_id, provider_id, location_id, type_id, starts_at, ends_at,
              blocked_from, blocked_until, overbooked, overbook_reason)
            SELECT $patient, p.id, l.id, t.id, now(), now() + interval '20 min',
              now(), now() + interval '20 min', true, 'cli test'
              FROM providers p, locations l, appointment_types t
             WHERE p.code = 'lee' AND l.code = 'main' AND t.code = 'checkup' RETURNING id" | tail -1)
walkin=$(sql "INSERT INTO patients (family_name, given_name, date_of_birth)
              VALUES ('Walker', 'Cli', '1985-01-01') RETURNING id")
room=$(sql "SELECT r.code FROM resources r JOIN locations l ON l.id = r.location_id
             WHERE l.code = 'main' AND r.kind = 'exam_room' AND r.active AND NOT EXISTS (
               SELECT 1 FROM visits v WHERE v.room_id = r.id AND v.status IN ('in_room', 'with_provider'))
             ORDER BY r.code LIMIT 1")

expect "board before login is refused (77)" 77 "$desk" board
expect "front desk login" 0 env FRONTDESK_PASSWORD=test-password-1 "$desk" login --user reception1 --desk front-1
expect "checkin --help" 0 "$desk" checkin --help
expect "checkin needs an appointment or a walk-in (64)" 64 "$desk" checkin
expect "the demo board" 0 "$desk" --json board
json_check "the demo board shows today's arrivals, one in a room" 'len(d["visits"]) >= 3 and any(v["status"] == "in_room" for v in d["visits"])'
json_check "the demo walk-in waiting 25 minutes is flagged" 'any(v["walk_in"] and v["waiting_too_long"] for v in d["visits"])'

expect "the board with who is expected" 0 "$desk" --json board --expected 30
json_check "the expected patient is listed with the gaps to fix before arrival" 'any(e["appointment_id"] == '"$appt"' and not e["ready"] and any(g.startswith("insurance_missing") for g in e["readiness_gaps"]) for e in d["expected"])'
expect "the board's expected list in text" 0 "$desk" board --expected 30
if grep -q "^Expected: " "$work/out" && grep -q "insurance_missing" "$work/out"; then
	ok "the text board shows who is expected and what is missing"; else bad "the text board shows who is expected and what is missing" "$(cat "$work/out")"; fi
expect "more than 12 hours ahead is refused (64)" 64 "$desk" board --expected 721
expect "check-in with readiness gaps is refused (65)" 65 "$desk" checkin "$appt"
if grep -q "not ready for check-in" "$work/err" && grep -q "insurance_missing" "$work/err"; then
	ok "the refusal names the gaps"; else bad "the refusal names the gaps" "$(cat "$work/err")"; fi
expect "check-in with an override" 0 "$desk" --json checkin "$appt" --override "forms on paper today"
json_check "the visit is checked in with the gaps recorded" 'd["visit"]["status"] == "checked_in" and "insurance_missing" in d["visit"]["readiness_gaps"]'
visit=$(json_get 'd["visit"]["id"]')
expect "the same appointment again is taken (65)" 65 "$desk" checkin "$appt" --override "again"
if grep -q "already checked in by reception1 at desk front-1" "$work/err"; then
	ok "the second desk is told who checked the patient in"; else bad "the second desk is told who checked the patient in" "$(cat "$work/err")"; fi

expect "the board in text" 0 "$desk" board
if grep -q $'\x1b' "$work/out"; then bad "a name with an escape is printed escaped" "raw ESC in output"
elif grep -qF 'Evil\x1b[2J' "$work/out"; then ok "a name with an escape is printed escaped"
else bad "a name with an escape is printed escaped" "$(cat "$work/out")"; fi

expect "with_provider before a room is refused (65)" 65 "$desk" visit status "$visit" with_provider
if grep -q "allowed: in_room, left_without_being_seen, undone" "$work/err"; then
	ok "the refusal names the allowed steps"; else bad "the refusal names the allowed steps" "$(cat "$work/err")"; fi
expect "an unknown visit (66)" 66 "$desk" visit status 99999999 checked_out
expect "room the patient (desk room VISIT, the issue's spelling)" 0 "$desk" --json room "$visit" --room "$room" --provider lee
json_check "the patient is in the room with the provider" 'd["visit"]["status"] == "in_room" and d["visit"]["room"] == "'"$room"'" and d["visit"]["provider"] == "lee"'
expect "with the provider" 0 "$desk" visit status "$visit" with_provider
expect "desk room with a word that is not a visit id (64)" 64 "$desk" room lounge --room "$room"
expect "desk room list is still the rooms" 0 "$desk" --json room list

expect "three decimals are refused (64)" 64 "$desk" pay "$visit" --amount 25.005 --method cash
expect "a negative amount is refused (64)" 64 "$desk" pay "$visit" --amount -5 --method cash
expect "a check without its number is refused (65)" 65 "$desk" pay "$visit" --amount 25 --method check
expect "pay by check" 0 "$desk" --json pay "$visit" --amount 25.5 --method check --check-number 1001
json_check "the check payment is 2550 cents with its number" 'd["payment"]["amount_cents"] == 2550 and d["payment"]["check_number"] == "1001" and "Check number: 1001" in d["receipt_text"]'
check_id=$(json_get 'd["payment"]["id"]')
expect "pay cash" 0 "$desk" pay "$visit" --amount 10.00 --method cash
if grep -q "Receipt R" "$work/out" && grep -q "Payment: cash 10.00" "$work/out"; then
	ok "the receipt is printed"; else bad "the receipt is printed" "$(cat "$work/out")"; fi
number=$(sql "SELECT receipt_number FROM payments WHERE id = $check_id")
expect "receipt by number" 0 "$desk" --json receipt --number "$number"
json_check "the receipt is the check's" 'd["payment"]["id"] == '"$check_id"
expect "the front desk cannot void (77)" 77 "$desk" payment void "$check_id" --reason "bounced"
expect "checkout" 0 "$desk" --json checkout "$visit"
json_check "the visit is checked out and closed" 'd["visit"]["status"] == "checked_out" and d["visit"]["next_statuses"] == []'
expect "a checked-out visit moves nowhere (65)" 65 "$desk" visit status "$visit" in_room

expect "walk-in" 0 "$desk" --json checkin --walkin "$walkin" --type checkup --override "new patient"
json_check "the walk-in has no appointment" 'd["visit"]["walk_in"] and d["visit"]["appointment_id"] == 0'
expect "balance" 0 "$desk" --json balance "$patient"
json_check "the balance counts what was paid" 'd["paid_cents"] == 3550'

expect "ledger" 0 "$desk" --json ledger
direct=$(sql "SELECT coalesce(sum(CASE kind WHEN 'payment' THEN amount_cents ELSE -amount_cents END), 0)
                FROM payments y JOIN visits v ON v.id = y.visit_id JOIN locations l ON l.id = v.location_id
               WHERE l.code = 'main' AND y.voided_at IS NULL
                 AND (y.received_at AT TIME ZONE l.time_zone)::date = (now() AT TIME ZONE l.time_zone)::date")
json_check "the ledger total matches the payments" 'd["net_cents"] == '"$direct"' and sum(l["net_cents"] for l in d["lines"]) == d["net_cents"] and sum(l["net_cents"] for l in d["by_method"]) == d["net_cents"]'
expect "a ledger on Feb 30 is refused (65)" 65 "$desk" ledger --date 2026-02-30

expect "timings are shown" 0 "$desk" --json checkin-settings
json_check "main shows the defaults, not swept" 'd["settings"]["location"] == "main" and not d["settings"]["configured"] and not d["settings"]["no_show_sweep"]'
expect "the front desk cannot save timings (77)" 77 "$desk" checkin-settings --late-after 5
expect "minutes out of range are refused (64)" 64 "$desk" checkin-settings --late-after 0

expect "billing login" 0 env FRONTDESK_PASSWORD=test-password-1 "$desk" login --user billing1 --desk front-2
expect "billing voids the check" 0 "$desk" --json payment void "$check_id" --reason "check bounced"
json_check "the payment is voided with its reason" 'd["payment"]["voided"] and d["payment"]["void_reason"] == "check bounced"'
expect "a void needs a reason (64)" 64 "$desk" payment void "$check_id"

expect "payment list --help" 0 "$desk" payment list --help
expect "payment list needs --patient (64)" 64 "$desk" payment list
expect "the patient's payments" 0 "$desk" --json payment list --patient "$patient"
json_check "the voided check is left out; the cash is listed with its visit and receipt" 'len(d["payments"]) == 1 and d["payments"][0]["amount_cents"] == 1000 and d["payments"][0]["visit_id"] == '"$visit"' and d["payments"][0]["receipt_number"].startswith("R") and not d["truncated"]'
json_check "the balance comes with the list" 'd["patient_id"] == '"$patient"' and d["paid_cents"] == 1000'
expect "the patient's payments with voided ones" 0 "$desk" --json payment list --patient "$patient" --voided
json_check "newest first, the voided check marked" '[p["id"] for p in d["payments"]] == sorted([p["id"] for p in d["payments"]], reverse=True) and len(d["payments"]) == 2 and [p["voided"] for p in d["payments"]] == [False, True] and d["payments"][1]["id"] == '"$check_id"
expect "the payment list in text" 0 "$desk" payment list --patient "$patient" --voided --from "$(sql "SELECT (now() AT TIME ZONE time_zone)::date FROM locations WHERE code = 'main'")"
if grep -qF "$number" "$work/out" && grep -q "VOIDED" "$work/out" && grep -q "balance" "$work/out"; then
	ok "the text list shows receipts, the void mark and the balance"; else bad "the text list shows receipts, the void mark and the balance" "$(cat "$work/out")"; fi
expect "a list from Feb 30 is refused (65)" 65 "$desk" payment list --patient "$patient" --from 2026-02-30
expect "a range over 366 days is refused (65)" 65 "$desk" payment list --patient "$patient" --from 2024-01-01 --to 2025-06-01
expect "an unknown patient's payments (66)" 66 "$desk" payment list --patient 99999999

cli_finish
