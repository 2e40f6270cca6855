#!/usr/bin/env bash
# End-to-end tests of the patients desk commands (patient, insurance,
# intake, readiness, vaccine, refill) against the real frontdeskd on a fresh
# seeded database: exit codes, JSON output, money parsing, card files, and
# that stored escape sequences are printed escaped. Prints
# "@@ passed=P failed=F" for tests/run.sh.
set -uo pipefail

# shellcheck source=tests/e2e/cli_lib.sh
. "$(dirname "$0")/cli_lib.sh"
cli_start patients_cli

expect "patient find needs a login (77)" 77 "$desk" patient find --name Smith
expect "login" 0 sh -c "echo test-password-1 | '$desk' login --user reception1 --desk front-1 --password-stdin"
expect "every patients command has --help" 0 "$desk" insurance card --help

# --- registration ---------------------------------------------------------
expect "patient add" 0 "$desk" --json patient add --family "Nguyễn" --given "Thị Minh" --dob 1985-03-14 \
	--phone "(617) 555-0142" --address $'12 Elm St\e[2J' --language vi --interpreter yes --sms yes
json_check "the new patient has an MRN and an E.164 phone" 'd["patient"]["mrn"].startswith("MRN") and d["patient"]["phone"] == "+16175550142"'
pid=$(json_get 'd["patient"]["id"]')
expect "patient show --json" 0 "$desk" patient show --id "$pid" --json
json_check "names round-trip exactly" 'd["patient"]["family_name"] == "Nguyễn" and d["patient"]["given_name"] == "Thị Minh"'
json_check "free text is stored as given" 'd["patient"]["address"] == "12 Elm St\x1b[2J"'
expect "patient show (text)" 0 "$desk" patient show --id "$pid"
if grep -q $'\e' "$work/out"; then bad "an escape sequence is printed escaped" "raw ESC in output"
elif grep -qF '\x1b[2J' "$work/out"; then ok "an escape sequence is printed escaped"
else bad "an escape sequence is printed escaped" "$(cat "$work/out")"; fi

expect "a possible duplicate stops the registration (65)" 65 "$desk" --json patient add --family "NGUYỄN" --given "thị minh" --dob 1985-03-14
json_check "the duplicate is listed" "len(d['possible_duplicates']) == 1 and d['possible_duplicates'][0]['id'] == $pid and d['patient'] is None"
expect "--confirm-duplicate registers anyway" 0 "$desk" --json patient add --family "Nguyễn" --given "Thị Minh" --dob 1985-03-14 --confirm-duplicate
dup=$(json_get 'd["patient"]["id"]')
expect "Feb 30 is refused (65)" 65 "$desk" patient add --family Doe --given Jane --dob 1990-02-30
expect "a future birth date is refused (65)" 65 "$desk" patient add --family Doe --given Jane --dob 2999-01-01
expect "a 10,000-character name is refused (65)" 65 "$desk" patient add --family "$(head -c 10000 /dev/zero | tr '\0' x)" --given Jane --dob 1990-01-01
expect "a control character in a name is refused (65)" 65 "$desk" patient add --family $'Doe\e[31m' --given Jane --dob 1990-01-01
expect "an unknown patient is not found (66)" 66 "$desk" patient show --id 999999999
expect "missing --dob is a usage error (64)" 64 "$desk" patient add --family Doe --given Jane

# --- search, update, history, merge ---------------------------------------
expect "patient find with typos" 0 "$desk" --json patient find --name "Jonh Smtih"
json_check "Jonh Smtih finds John Smith first" 'd["patients"][0]["given_name"] == "John" and d["patients"][0]["family_name"] == "Smith"'
expect "patient find with the space dropped" 0 "$desk" --json patient find --name "johnsmith"
json_check "johnsmith finds John Smith first" 'd["patients"][0]["given_name"] == "John" and d["patients"][0]["family_name"] == "Smith"'
expect "patient find by phone in any format" 0 "$desk" --json patient find --phone "617.555.0142"
json_check "the phone search finds the patient" "$pid in [p['id'] for p in d['patients']]"
expect "patient update" 0 "$desk" --json patient update --id "$pid" --email "minh@example.org" --version 1
json_check "the update bumps the version" 'd["patient"]["version"] == 2 and d["patient"]["email"] == "minh@example.org"'
expect "a stale --version is refused as a conflict (75)" 75 "$desk" patient update --id "$pid" --email "x@example.org" --version 1
expect "patient history" 0 "$desk" --json patient history --id "$pid"
json_check "the history names who changed the email" 'd["changes"][0]["staff_username"] == "reception1" and "minh@example.org" in d["changes"][0]["changes_json"]'

# --- insurance --------------------------------------------------------------
expect "a negative copay is a usage error (64)" 64 "$desk" insurance add --patient "$pid" --payer Aetna --member-id A1 --priority primary --from 2024-01-01 --copay new=-5
expect "a fraction of a cent is a usage error (64)" 64 "$desk" insurance add --patient "$pid" --payer Aetna --member-id A1 --priority primary --from 2024-01-01 --copay new=25.001
expect "insurance add" 0 "$desk" --json insurance add --patient "$dup" --payer Aetna --plan PPO --member-id A1 --priority primary --from 2024-01-01 --copay new=40 --copay follow-up=25.5
json_check "copays are kept in cents" '{c["visit_type"]: c["copay_cents"] for c in d["policy"]["copays"]} == {"new": 4000, "follow-up": 2550}'
policy=$(json_get 'd["policy"]["id"]')
expect "a second primary is refused (65)" 65 "$desk" insurance add --patient "$dup" --payer Cigna --member-id C1 --priority primary --from 2024-01-01
expect "insurance verify" 0 "$desk" insurance verify --policy "$policy"
expect "insurance list" 0 "$desk" --json insurance list --patient "$dup"
json_check "the policy shows who verified it" 'd["policies"][0]["last_verified_by"] == "reception1" and d["policies"][0]["last_verified_unix_ms"] > 0'
printf '\x89PNG\r\n\x1a\nfake-card-image-bytes' >"$work/card.png"
echo "just text" >"$work/card.txt"
head -c 900000 /dev/zero >"$work/huge.jpg"
expect "insurance card --upload a PNG" 0 "$desk" --json insurance card --policy "$policy" --side front --upload "$work/card.png"
json_check "the card is stored as image/png" 'd["content_type"] == "image/png"'
expect "a text file is not a card image (65)" 65 "$desk" insurance card --policy "$policy" --side back --upload "$work/card.txt"
expect "an oversized image is refused before sending (65)" 65 "$desk" insurance card --policy "$policy" --side back --upload "$work/huge.jpg"
expect "insurance card --save" 0 "$desk" insurance card --policy "$policy" --side front --save "$work/back.png"
if cmp -s "$work/card.png" "$work/back.png"; then ok "the saved card is byte for byte the upload"; else bad "the saved card is byte for byte the upload"; fi
expect "no back image yet (66)" 66 "$desk" insurance card --policy "$policy" --side back

# --- merge ------------------------------------------------------------------
expect "patient merge" 0 "$desk" --json patient merge --survivor "$pid" --duplicate "$dup" --reason "registered twice"
json_check "the merge moved the policy" 'd["rows_moved"] >= 1 and d["survivor"]["id"] == '"$pid"
expect "insurance list of the survivor" 0 "$desk" --json insurance list --patient "$pid"
json_check "the survivor has the policy now" "len(d['policies']) == 1 and d['policies'][0]['id'] == $policy"
expect "merging again is refused (65)" 65 "$desk" patient merge --survivor "$pid" --duplicate "$dup"

# --- intake and readiness ---------------------------------------------------
expect "readiness" 0 "$desk" --json readiness --patient "$pid"
json_check "readiness lists missing forms and the interpreter" 'not d["ready"] and {"form_missing", "interpreter_needed"} <= {g["kind"] for g in d["gaps"]}'
expect "readiness (text)" 0 "$desk" readiness --patient "$pid"
if grep -q "interpreter_needed vi" "$work/out"; then ok "readiness text names the language"; else bad "readiness text names the language" "$(cat "$work/out")"; fi
expect "intake complete" 0 "$desk" intake complete --patient "$pid" --form allergies --answers '{"allergies":"penicillin"}'
expect "answers that are not a JSON object are refused (65)" 65 "$desk" intake complete --patient "$pid" --form allergies --answers '[1]'
expect "intake status" 0 "$desk" --json intake status --patient "$pid"
json_check "allergies is complete, the rest missing" '[f["state"] for f in d["forms"] if f["code"] == "allergies"] == ["complete"] and all(f["state"] == "missing" for f in d["forms"] if f["code"] != "allergies")'

# --- vaccines and refills ---------------------------------------------------
expect "vaccine add" 0 "$desk" vaccine add --patient "$pid" --cvx 141 --date 2024-10-01 --lot L1 --site "left deltoid"
expect "vaccine add (earlier)" 0 "$desk" vaccine add --patient "$pid" --cvx 213 --date 2023-09-01 --source historical
expect "a five-digit CVX code is refused (65)" 65 "$desk" vaccine add --patient "$pid" --cvx 12345 --date 2024-10-01
expect "vaccine list" 0 "$desk" --json vaccine list --patient "$pid"
json_check "vaccines are listed by date" '[v["cvx_code"] for v in d["immunizations"]] == ["213", "141"]'
expect "refill add" 0 "$desk" --json refill add --patient "$pid" --medication "Lisinopril 10 mg" --channel phone --requested-by daughter
refill=$(json_get 'd["refill"]["id"]')
expect "an impossible step is refused (65)" 65 "$desk" refill update --id "$refill" --status done
if grep -q "sent_to_provider" "$work/err"; then ok "the refusal names the allowed steps"; else bad "the refusal names the allowed steps" "$(cat "$work/err")"; fi
expect "refill to the provider" 0 "$desk" refill update --id "$refill" --status sent_to_provider
expect "the desk may not approve (77)" 77 "$desk" refill update --id "$refill" --status approved
expect "the provider approves" 0 env FRONTDESK_PASSWORD=test-password-1 XDG_CONFIG_HOME="$work/dr" sh -c "'$desk' login --user drsmith --desk front-2 >/dev/null && '$desk' refill update --id $refill --status approved --note ok"
expect "refill list --open" 0 "$desk" --json refill list --patient "$pid" --open
json_check "the refill shows each step and who took it" '[s["status"] for s in d["refills"][0]["steps"]] == ["new", "sent_to_provider", "approved"] and d["refills"][0]["steps"][2]["staff_username"] == "drsmith"'

cli_finish
