#!/usr/bin/env bash
# End-to-end tests of `desk console`: the real console runs in a private
# tmux server (80x24) against the real frontdeskd on a fresh demo database;
# keys go in with send-keys and the screen is read with capture-pane. Pins
# down: login without echoing the password, today's demo schedule, a change
# from another desk appearing with no key pressed (live events), answering
# a ringing call with one key, booking the first free check-up for a found
# patient in a counted number of keys, names with ESC and bidi controls
# shown escaped, the banner while the server is down and recovery after it
# returns (typed text kept), redraw on resize, and the idle lock hiding
# patient names. Also the check-in flow past check-in (copay prefilled from
# the policy, the server's receipt in a pane and saved to a file, check
# out), the inbox (mark a message done, assign one), transferring a call to
# a queue, a patient's record (insurance added and verified, forms,
# upcoming, balance, edit), the record's Payments tab (the copay collected
# above and a refund of it, newest first; Enter opens the copay's receipt)
# and registering a patient (a server refusal on screen, then found by
# search). Waits poll the screen with a generous
# limit; nothing asserts how fast. Prints "@@ passed=P failed=F" for
# tests/run.sh.
set -uo pipefail

# shellcheck source=tests/e2e/cli_lib.sh
. "$(dirname "$0")/cli_lib.sh"
cli_start console
export LANG=C.UTF-8 LC_ALL=C.UTF-8
# Receipts saved from the console land here (see docs/console.md).
export XDG_DATA_HOME=$work/data

tm() { tmux -L "fdcon-$$" -f /dev/null "$@"; }
screen() { tm capture-pane -p -t "$1"; }
keys() { local s=$1; shift; tm send-keys -t "$s" "$@"; }
# shown SESSION TEXT [TRIES]: true once TEXT is on the screen (fixed string).
shown() {
	for _ in $(seq "${3:-100}"); do
		screen "$1" | grep -qF -- "$2" && return 0
		sleep 0.1
	done
	return 1
}
# expect_screen NAME SESSION TEXT: passes when TEXT appears.
expect_screen() {
	if shown "$2" "$3"; then ok "$1"; else
		# The console's stderr too: a sanitizer's report lands there.
		bad "$1" "screen: $(screen "$2" | head -24)
stderr: $(head -c 4000 "$work/$2.err" 2>/dev/null)"
	fi
}
# expect_gone NAME SESSION TEXT: passes when TEXT is (or goes) off screen.
expect_gone() {
	for _ in $(seq 100); do
		screen "$2" | grep -qF -- "$3" || { ok "$1"; return; }
		sleep 0.1
	done
	bad "$1" "still shown: $(screen "$2" | grep -F -- "$3")"
}
# row_index SESSION HEADER TEXT: how many rows below the line starting with
# HEADER the first line containing TEXT is (0 for the first row).
row_index() {
	screen "$1" | awk -v h="$2" -v t="$3" 'index($0, h) == 1 { start = NR; next }
		start && index($0, t) { print NR - start - 1; exit }'
}
server_start() {
	"$bin/frontdeskd" --listen="$sock" --events-listen="$events" serve 2>>"$work/server.log" &
	server_pid=$!
	for _ in $(seq 100); do "$desk" ping >/dev/null 2>&1 && break; sleep 0.1; done
}
console_start() { # SESSION [console flags...]
	local s=$1
	shift
	tm new-session -d -s "$s" -x 80 -y 24 \
		"env TERM=screen-256color $desk console --desk front-1 $* 2>$work/$s.err; echo console-exit=\$?; sleep 30"
}
trap 'tm kill-server 2>/dev/null; cli_cleanup' EXIT

# The clinic's demo data, and an admin CLI session as "another desk".
expect "admin logs in with the CLI" 0 env FRONTDESK_PASSWORD=test-password-1 "$desk" login --user admin --desk front-2
expect "the clinic is forced open for the phone tests" 0 "$desk" phone override --set open --reason "test run"
first_patient=$(psql -At -d "$db" -c "SELECT patient_id FROM appointments ORDER BY starts_at LIMIT 1")
psql -q -d "$db" -c "UPDATE patients SET family_name = E'Evil\\x1b[2JName', given_name = E'Mal\\u202eory'
                     WHERE id = $first_patient" >/dev/null

expect "console --help explains the command" 0 "$desk" console --help
expect "the console refuses to run without a terminal (64)" 64 "$desk" console --desk front-1 </dev/null
expect "a bad --lock-after is a usage error (64)" 64 "$desk" console --lock-after 0

# --- login ---------------------------------------------------------------
console_start main
if ! shown main "Log in to the front desk"; then
	# Without a console every later check would only wait out its limit.
	bad "the login screen asks for the user" "$(screen main; cat "$work/main.err")"
	cli_finish
	exit 1
fi
ok "the login screen asks for the user"
keys main "reception1" Tab "test-password-1" Tab
if screen main | grep -q "test-password-1"; then bad "the password is not echoed" "$(screen main)"
else ok "the password is not echoed"; fi
keys main Enter
expect_screen "login opens the Today view" main "F1 Today"

# --- Today ---------------------------------------------------------------
expect_screen "Today shows the demo schedule (Dr. Lee's no-show)" main "no_show"
expect_screen "Today shows Dr. Smith's afternoon" main "Dr. Jane Smith"
expect_screen "an ESC in a name is shown escaped" main 'Evil\x1b[2JName'
expect_screen "a bidi override in a name is shown escaped" main 'Mal\u202eory'
if screen main | grep -q $'\u202e'; then bad "no raw bidi override on screen"; else ok "no raw bidi override on screen"; fi
expect_screen "the keys are shown on screen" main "? help"

booked=$(psql -At -d "$db" -c "SELECT a.id FROM appointments a JOIN providers p ON p.id = a.provider_id
                                 WHERE a.status = 'booked' AND p.code = 'lee' ORDER BY a.starts_at LIMIT 1")
before=$(screen main | grep -c "cancelled")
expect "another desk cancels an appointment" 0 "$desk" appt cancel "$booked" --reason clinic
for _ in $(seq 100); do
	now=$(screen main | grep -c "cancelled")
	[ "$now" -gt "$before" ] && break
	sleep 0.1
done
if [ "$now" -gt "$before" ]; then ok "the cancellation appears without a key press"
else bad "the cancellation appears without a key press" "$(screen main)"; fi

# --- check-in from Today (keys counted) ------------------------------------
# The selection starts on the next expected patient: one key checks them in,
# and one more picks a standard override reason when readiness has gaps.
visits_before=$(psql -At -d "$db" -c "SELECT count(*) FROM visits")
keys main F1
nkeys=1
keys main i
for _ in $(seq 100); do
	screen main | grep -qE "checked in|Override: 1" && break
	sleep 0.1
done
if screen main | grep -q "Override: 1"; then
	keys main 2
	nkeys=$((nkeys + 1))
fi
expect_screen "i checks the selected patient in" main "checked in"
visits_after=$(psql -At -d "$db" -c "SELECT count(*) FROM visits")
if [ "$visits_after" = $((visits_before + 1)) ] && [ "$nkeys" -le 4 ]; then
	ok "check-in from Today took $nkeys keys (<= 4)"
else bad "check-in from Today took $nkeys keys (<= 4)" "visits $visits_before -> $visits_after"; fi
expect_screen "the Today row turns checked_in" main "checked_in"
just_in=$(psql -At -d "$db" -c "SELECT max(id) FROM visits")
keys main c
expect_screen "c on Today opens the copay of the visit just checked in" main "Copay for visit $just_in "
keys main Escape
expect_screen "Esc closes the form without paying" main "closed, nothing sent"
expect_gone "the form is off the screen" main "Check number"
moved_before=$(psql -At -d "$db" -c "SELECT count(*) FROM appointments WHERE status = 'rescheduled'")
keys main s
expect_screen "s offers the first free slot of the type" main "Move to "
keys main Enter
expect_screen "Enter moves the appointment" main "moved to appointment"
moved_after=$(psql -At -d "$db" -c "SELECT count(*) FROM appointments WHERE status = 'rescheduled'")
if [ "$moved_after" = $((moved_before + 1)) ]; then ok "the server records the reschedule"
else bad "the server records the reschedule" "rescheduled $moved_before -> $moved_after"; fi
keys main F5
expect_screen "F5 shows the waiting room with the patient" main "checked_in"
expect_screen "the waiting room lists minutes in status" main "Min"
visit=$(psql -At -d "$db" -c "SELECT max(id) FROM visits")
who=$(psql -At -d "$db" -c "SELECT p.family_name FROM visits v JOIN patients p ON p.id = v.patient_id WHERE v.id = $visit")
row=$(screen main | awk -v w="$who" 'NR > 3 && index($0, w) == 1 { print NR - 4; exit }')
for _ in $(seq "${row:-0}"); do keys main Down; done
keys main o
expect_screen "o asks for the room" main "Room code"
keys main "exam-2" Enter
expect_screen "the patient is roomed" main "roomed"
expect_screen "the board shows the room" main "exam-2"

# --- copay, receipt, check out -------------------------------------------
# The roomed visit is still selected. Its copay comes from the patient's
# policy (the demo patients have one); the form starts with what is due.
due=$(psql -At -d "$db" -c "SELECT to_char(expected_copay_cents / 100.0, 'FM9999990.00') FROM visits WHERE id = $visit")
payments_before=$(psql -At -d "$db" -c "SELECT count(*) FROM payments WHERE visit_id = $visit")
keys main c
expect_screen "c opens the copay form for the visit" main "Copay for visit $visit"
if [ "$due" != "0.00" ]; then
	expect_screen "the amount is prefilled from the policy copay ($due)" main "$due"
	expect_screen "the form says where the amount came from" main "from the policy copay"
else
	keys main "25.00"
	due=25.00
fi
keys main C-s
expect_screen "^S takes the payment and shows the server's receipt" main "Receipt (w saves"
expect_screen "the status line shows the amount and receipt number" main "paid $due, receipt"
payments_after=$(psql -At -d "$db" -c "SELECT count(*) FROM payments WHERE visit_id = $visit")
if [ "$payments_after" = $((payments_before + 1)) ]; then ok "the server records the payment"
else bad "the server records the payment" "payments $payments_before -> $payments_after"; fi
receipt=$(psql -At -d "$db" -c "SELECT receipt_number FROM payments WHERE visit_id = $visit ORDER BY id DESC LIMIT 1")
expect_screen "the receipt pane shows the receipt number" main "$receipt"
keys main w
expect_screen "w saves the receipt under XDG_DATA_HOME" main "receipt saved to $XDG_DATA_HOME/frontdesk/receipts/"
if grep -qF "$receipt" "$XDG_DATA_HOME/frontdesk/receipts/receipt-$receipt.txt" 2>/dev/null; then
	ok "the saved file holds the receipt"
else bad "the saved file holds the receipt" "$(ls -R "$XDG_DATA_HOME" 2>&1)"; fi
keys main Escape
expect_gone "Esc closes the receipt" main "Receipt (w saves"
keys main d
expect_screen "d checks the patient out" main "checked out; balance"
if [ "$(psql -At -d "$db" -c "SELECT status FROM visits WHERE id = $visit")" = checked_out ]; then
	ok "the server has the visit checked out"
else bad "the server has the visit checked out"; fi

keys main "?"
expect_screen "? shows the help" main "F4 answer the ringing call"
keys main "?"
expect_gone "? again closes the help" main "F4 answer the ringing call"

# --- Phones --------------------------------------------------------------
keys main F2
expect_screen "F2 opens Phones" main "You are"
keys main p
expect_screen "p makes reception1 available" main "You are available"
expect "a call comes in" 0 "$desk" --json call incoming --from +12125550101 --line main
call=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["call"]["id"])' "$work/out")
expect_screen "the ringing call appears by itself" main "RINGING +12125550101"
expect_screen "the screen pop shows the caller's record" main "Caller matches"
keys main a
expect_screen "one key (a) answers the call" main "answered call $call"
expect "the server shows the call answered by reception1" 0 sh -c "'$desk' --json call list | grep -q '\"answered_by\":\"reception1\"'"
keys main h
expect_screen "h puts the call on hold" main "call on hold"
keys main h
expect_screen "h again resumes it" main "call resumed"
keys main m
expect_screen "m asks for the message" main "Message: reason"
keys main "wants a refill" Enter
expect_screen "the message is taken and the call ended" main "message taken, call ended"
expect_screen "the message is in the inbox" main "wants a refill"

# --- the inbox: mark done, assign -----------------------------------------
keys main f
expect_screen "f moves the arrows to the inbox" main "arrows here, c done"
first_msg=$(screen main | awk '/^Messages to call back/ { getline; sub(/^#/, "", $1); print $1; exit }')
keys main c
expect_screen "c marks the selected message done" main "message $first_msg done"
if [ "$(psql -At -d "$db" -c "SELECT done_at IS NOT NULL FROM phone_messages WHERE id = ${first_msg:-0}")" = t ]; then
	ok "the server has the message done"
else bad "the server has the message done" "message '$first_msg'"; fi
expect_gone "a done message leaves the inbox" main "#$first_msg "
refill=$(psql -At -d "$db" -c "SELECT id FROM phone_messages WHERE reason = 'wants a refill'")
for _ in $(seq 100); do
	row=$(row_index main "Messages to call back" "wants a refill")
	[ -n "$row" ] && break
	sleep 0.1
done
for _ in $(seq "${row:-0}"); do keys main Down; done
keys main g
expect_screen "g asks whom to assign the message to" main "Assign the message to user"
keys main "admin" Enter
expect_screen "the message is assigned" main "message $refill assigned"
if [ "$(psql -At -d "$db" -c "SELECT s.username FROM phone_messages m JOIN staff s ON s.id = m.for_staff_id WHERE m.id = $refill")" = admin ]; then
	ok "the server has the message in admin's inbox"
else bad "the server has the message in admin's inbox"; fi
keys main f
expect_screen "f moves the arrows back to the calls" main "arrows move in the calls"

# --- transfer an answered call to a queue ---------------------------------
expect "a second call comes in" 0 "$desk" --json call incoming --from +12125550177 --line main
call2=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["call"]["id"])' "$work/out")
expect_screen "the second call rings" main "RINGING +12125550177"
keys main a
expect_screen "a answers it" main "answered call $call2"
keys main t
expect_screen "t offers the queues" main "Transfer to queue:"
expect_screen "the queues are listed by code" main "billing"
keys main "billing" Enter
expect_screen "the call is transferred" main "call transferred"
expect "the server has the call waiting in the billing queue" 0 sh -c "'$desk' --json call list | python3 -c 'import json,sys; c=[x for x in json.load(sys.stdin)[\"calls\"] if x[\"id\"]==$call2][0]; assert c[\"queue\"]==\"billing\" and c[\"state\"]==\"waiting\", c'"

# --- Patients and booking (keys counted) ----------------------------------
keys main F3
keys main "Rossi"
expect_screen "typing searches as you type" main "Rossi, "
mrn=$(screen main | awk '/^MRN /{ getline; print $1; exit }')
appointments_of() {
	psql -At -d "$db" -c "SELECT count(*) FROM appointments a JOIN patients p ON p.id = a.patient_id WHERE p.mrn = '$mrn'"
}
count_before=$(appointments_of)
# A found patient is selected; the check-up is preselected: Enter (book),
# Enter (first free slot), Enter (book it) = 3 keys, within the 8 allowed.
nkeys=0
keys main Enter; nkeys=$((nkeys + 1))
expect_screen "Enter opens booking on the check-up" main "Book for:"
keys main Enter; nkeys=$((nkeys + 1))
expect_screen "Enter finds the first free slot" main "First free:"
keys main Enter; nkeys=$((nkeys + 1))
expect_screen "Enter books it" main "booked appointment"
count_after=$(appointments_of)
if [ "$count_after" = $((count_before + 1)) ] && [ "$nkeys" -le 8 ]; then
	ok "the first free check-up is booked in $nkeys keys (<= 8)"
else bad "the first free check-up is booked in $nkeys keys (<= 8)" "before $count_before after $count_after"; fi

# --- a patient's record ---------------------------------------------------
keys main Right
expect_screen "-> opens the found patient's record" main "d Details"
expect_screen "the record shows the MRN" main "MRN $mrn"
keys main n
expect_screen "n shows the insurance tab" main "Payer / plan"
keys main a
expect_screen "a opens the policy form" main "Add an insurance policy"
# Payer, plan, member, group; subscriber and relationship prefilled;
# priority tertiary (the demo has the others); from today; copay last.
keys main "Acme Health" Enter "Gold" Enter "M-7781" Enter "G-1" Enter Enter Enter C-u "tertiary" Enter Enter Enter "30.00" Enter
expect_screen "the policy is added" main "policy added"
expect_screen "the new policy is listed, not verified" main "Acme Health"
for _ in $(seq 100); do
	row=$(row_index main "Priority   Payer" "Acme Health")
	[ -n "$row" ] && break
	sleep 0.1
done
for _ in $(seq "${row:-0}"); do keys main Down; done
keys main v
# The Acme Health row itself: other policies on screen say "verified" already.
for _ in $(seq 100); do
	screen main | grep -F "Acme Health" | grep -q "verified [0-9]" && break
	sleep 0.1
done
if screen main | grep -F "Acme Health" | grep -q "verified [0-9]"; then
	ok "v marks the selected policy verified"
else bad "v marks the selected policy verified" "$(screen main | head -24)"; fi
if [ "$(psql -At -d "$db" -c "SELECT last_verified_at IS NOT NULL FROM insurance_policies WHERE payer = 'Acme Health'")" = t ]; then
	ok "the server has the policy verified"
else bad "the server has the policy verified" "$(screen main)"; fi
keys main f
expect_screen "f shows the forms status" main "Completed   Expires"
keys main u
expect_screen "u shows upcoming appointments with the new check-up" main "booked"
keys main p
expect_screen "p shows the balance" main "Balance"
keys main e
expect_screen "e opens the edit form" main "Edit the patient"
keys main Down Down Down Down Down Down C-u "rossi.new@example.org" C-s
expect_screen "^S saves the edit" main "patient record saved"
if [ "$(psql -At -d "$db" -c "SELECT email FROM patients WHERE mrn = '$mrn'")" = rossi.new@example.org ]; then
	ok "the server has the new email"
else bad "the server has the new email"; fi
keys main Escape
expect_screen "Esc goes back to the search" main "Find: "

# --- the record's Payments tab: the copay collected above -------------------
# Another desk refunds 1.00 of it, so the tab shows the refund on top (newest
# first) and the copay below it; Enter on the copay's row opens its receipt.
paid_id=$(psql -At -d "$db" -c "SELECT id FROM payments WHERE receipt_number = '$receipt'")
expect "another desk refunds part of the copay" 0 "$desk" --json payment refund "$paid_id" --amount 1.00 --reason "console test"
refund_receipt=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["payment"]["receipt_number"])' "$work/out")
payer_mrn=$(psql -At -d "$db" -c "SELECT p.mrn FROM visits v JOIN patients p ON p.id = v.patient_id WHERE v.id = $visit")
# The payer's name as typed at the desk: printable characters only.
payer_name=$(psql -At -d "$db" -c "SELECT p.given_name || ' ' || p.family_name FROM visits v
                                    JOIN patients p ON p.id = v.patient_id WHERE v.id = $visit" |
	python3 -c 'import sys; print("".join(ch for ch in sys.stdin.read().strip() if ch.isprintable()))')
keys main Escape
keys main -l "$payer_name"
# The row once two looks agree (a reply to a shorter query may still land).
row=
for _ in $(seq 100); do
	now_row=$(row_index main "MRN " "$payer_mrn")
	[ -n "$now_row" ] && [ "$now_row" = "$row" ] && break
	row=$now_row
	sleep 0.2
done
expect_screen "the payer is found by name" main "$payer_mrn"
for _ in $(seq "${row:-0}"); do keys main Down; done
keys main Right
expect_screen "-> opens the payer's record" main "MRN $payer_mrn"
keys main p
expect_screen "the Payments tab shows the balance on top" main "Balance"
expect_screen "the Payments tab lists the copay by its receipt number" main "$receipt"
expect_screen "the Payments tab lists the refund, marked" main "REFUND of #$paid_id"
if screen main | grep -F "$receipt" | grep -qF "$due"; then ok "the copay's row shows its amount ($due)"
else bad "the copay's row shows its amount ($due)" "$(screen main)"; fi
refund_row=$(row_index main "Received " "$refund_receipt")
paid_row=$(row_index main "Received " "$receipt")
if [ -n "$refund_row" ] && [ -n "$paid_row" ] && [ "$refund_row" -lt "$paid_row" ]; then
	ok "the newest (the refund) is listed first"
else bad "the newest (the refund) is listed first" "refund row '$refund_row', copay row '$paid_row'"; fi
for _ in $(seq "${paid_row:-0}"); do keys main Down; done
keys main Enter
expect_screen "Enter on the copay's row opens its receipt" main "Receipt (w saves"
expect_screen "the receipt pane is the copay's" main "Receipt $receipt"
keys main Escape
expect_gone "Esc closes the receipt" main "Receipt (w saves"
expect_screen "the record is still on its Payments tab" main "REFUND of #$paid_id"
keys main Escape
expect_screen "Esc goes back to the search from the payments" main "Find: "

# --- register a new patient -----------------------------------------------
keys main F7
expect_screen "F7 opens the registration form" main "Register a new patient"
expect_screen "the form lists the desk's fields" main "Interpreter"
keys main "Quennevile" Enter "Thandiwe" Enter Enter "1990-02-30" Enter "female" Enter "212 555 0199" Enter "tq@example.org" Enter "ig" Enter C-u "y"
keys main C-s
expect_screen "a server refusal is shown as the status" main "cannot register:"
expect_screen "the form stays open to fix it" main "Register a new patient"
keys main Up Up Up Up Up C-u "1990-02-20" C-s
expect_screen "the patient is registered" main "registered Quennevile"
if [ "$(psql -At -d "$db" -c "SELECT preferred_language || '/' || interpreter_needed FROM patients WHERE family_name = 'Quennevile'")" = ig/true ]; then
	ok "the server has the language and interpreter need"
else bad "the server has the language and interpreter need" "$(psql -At -d "$db" -c "SELECT * FROM patients WHERE family_name = 'Quennevile'")"; fi
# The same name and birth date again: the server stops it as a possible
# duplicate; ^S a second time registers anyway.
keys main Escape
keys main F7
expect_screen "F7 again opens an empty form" main "Register a new patient"
keys main "Quennevile" Enter "Thandiwe" Enter Enter "1990-02-20" C-s
expect_screen "a possible duplicate stops the registration" main "possible duplicate:"
if [ "$(psql -At -d "$db" -c "SELECT count(*) FROM patients WHERE family_name = 'Quennevile'")" = 1 ]; then
	ok "nothing is registered while the duplicate question is open"
else bad "nothing is registered while the duplicate question is open"; fi
keys main C-s
expect_screen "^S again registers anyway" main "registered Quennevile"
if [ "$(psql -At -d "$db" -c "SELECT count(*) FROM patients WHERE family_name = 'Quennevile'")" = 2 ]; then
	ok "the server has both records"
else bad "the server has both records"; fi
keys main Escape
keys main Escape
keys main "Quennevile"
expect_screen "the new patient is found by search" main "Quennevile, Thandiwe"

# --- a call that waits does not hold up the keyboard ----------------------
# With the server frozen every call hangs until its deadline. Typed text
# must still reach the screen while a call is outstanding (the header's
# '*'), which a console calling from its loop thread could never show.
kill -STOP "$server_pid"
keys main Escape
keys main "Ab"
live=
for _ in $(seq 100); do
	shot=$(screen main)
	if grep -qF "Find: Ab" <<<"$shot" && head -1 <<<"$shot" | grep -qF "*"; then live=1; break; fi
	sleep 0.1
done
kill -CONT "$server_pid"
if [ -n "$live" ]; then ok "typing shows while a call is still waiting"
else bad "typing shows while a call is still waiting" "$(screen main | head -3)"; fi
expect_gone "the banner clears once the server answers again" main "SERVER UNREACHABLE"

# --- mouse (optional): a click on a tab, a click on a row ------------------
# xterm-style reports as a terminal sends them: ESC [ M, button+32,
# column+33, row+33 (press, then release).
click() { # SESSION X Y
	local b x y
	x=$(printf "\\$(printf %03o $(($2 + 33)))")
	y=$(printf "\\$(printf %03o $(($3 + 33)))")
	b=$(printf "\\$(printf %03o 32)")
	tm send-keys -t "$1" -l $'\e[M'"$b$x$y"
	b=$(printf "\\$(printf %03o 35)")
	tm send-keys -t "$1" -l $'\e[M'"$b$x$y"
}
click main 48 0
expect_screen "a click on the Waiting tab opens the waiting room" main "Patient                   Status"
click main 14 0
expect_screen "a click on the Today tab opens Today" main "Time   Provider"
# Selected rows are drawn in reverse video: click a row that is not.
reversed() { tm capture-pane -p -e -t main | sed -n "$(($1 + 1))p" | grep -qE $'\e\\[([0-9]+;)*7m'; }
for y in 3 4 5 6 7; do reversed "$y" || break; done
click main 10 "$y"
selected=
for _ in $(seq 100); do reversed "$y" && { selected=1; break; }; sleep 0.1; done
if [ -n "$selected" ]; then ok "a click on a row selects it"
else bad "a click on a row selects it" "row $y: $(tm capture-pane -p -e -t main | sed -n "$((y + 1))p" | od -c | head -5)"; fi
keys main F3

# --- the server goes away and comes back ----------------------------------
kill -TERM "$server_pid"; wait "$server_pid"; server_pid=
expect_screen "a stopped server raises the banner" main "SERVER UNREACHABLE"
keys main Escape
keys main "Garc"
server_start
expect_gone "the banner goes when the server is back" main "SERVER UNREACHABLE"
expect_screen "the text typed during the outage is kept" main "Find: Garc"
keys main "ia"
expect_screen "the console works again after the restart" main "Garcia"

# --- resize ---------------------------------------------------------------
tm resize-window -t main -x 30 -y 6
sleep 0.5
if screen main | grep -q "console-exit"; then bad "a tiny terminal does not end the console" "$(screen main)"
else ok "a tiny terminal does not end the console"; fi
tm resize-window -t main -x 100 -y 30
for _ in $(seq 100); do
	width=$(screen main | head -1 | sed 's/ *$//' | awk '{ print length }')
	lines=$(screen main | wc -l)
	[ "$width" -ge 95 ] && [ "$lines" -ge 30 ] && break
	sleep 0.1
done
if [ "$width" -ge 95 ]; then ok "a resize to 100x30 redraws the header across the width"
else bad "a resize to 100x30 redraws the header across the width" "width $width: $(screen main | head -3)"; fi
if screen main | tail -1 | grep -qF "Up/Down"; then ok "the keys line moves to the new bottom"
else bad "the keys line moves to the new bottom" "$(screen main | tail -3)"; fi

# --- readiness before arrival ---------------------------------------------
# A patient with no insurance and no forms, expected at 'main' (late by just
# under the no-show time, so first in the expected list): the Waiting room's
# Expected list names what is missing, and Today flags the row with '!'.
gapsby=$(psql -qtA -d "$db" -c "INSERT INTO patients (family_name, given_name, date_of_birth)
                                VALUES ('Gapsby', 'Ann', '1977-07-07') RETURNING id")
psql -q -d "$db" -c "SELECT set_config('frontdesk.reason', 'test', false);
  INSERT INTO appointments (patient_id, provider_id, location_id, type_id, starts_at, ends_at,
                            blocked_from, blocked_until, overbooked, overbook_reason)
  SELECT $gapsby, p.id, l.id, t.id, s, s + interval '20 min', s, s + interval '20 min', true, 'console test'
    FROM providers p, locations l, appointment_types t,
         LATERAL (SELECT now() - make_interval(mins => (checkin_settings_for(l.id)).no_show_after_min - 1) AS s) x
   WHERE p.code = 'lee' AND l.code = 'main' AND t.code = 'checkup'" >/dev/null
keys main F5
expect_screen "the waiting room lists who is expected" main "Missing before arrival"
for _ in $(seq 100); do screen main | grep -q "Gapsby" && break; keys main r; sleep 0.1; done
if screen main | grep "Gapsby" | grep -q "insurance_missing"; then
	ok "an expected patient is listed with what is missing"
else bad "an expected patient is listed with what is missing" "$(screen main)"; fi
keys main F1
for _ in $(seq 50); do screen main | grep -q "Gapsby" && break; sleep 0.1; done
if screen main | grep "Gapsby" | grep -q "!"; then ok "Today flags the row with readiness gaps"
else bad "Today flags the row with readiness gaps" "$(screen main)"; fi
keys main F5

keys main C-q
expect_screen "^Q quits with exit 0" main "console-exit=0"

# --- idle lock ------------------------------------------------------------
console_start lock --user reception1 --lock-after 2
expect_screen "a second console asks for the password" lock "Password"
keys lock "test-password-1" Enter
expect_screen "it logs in" lock "F1 Today"
expect_screen "patient names are shown before the lock" lock "Evil"
expect_screen "the console locks when idle" lock "Locked."
expect_gone "the lock hides patient names" lock "Evil"
keys lock "wrong-password" Enter
expect_screen "a wrong password does not unlock" lock "cannot log in"
keys lock "test-password-1" Enter
expect_screen "the right password unlocks" lock "Evil"
keys lock C-q
expect_screen "^Q quits a locked console with exit 0" lock "console-exit=0"

cli_finish
