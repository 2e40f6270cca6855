#!/usr/bin/env bash
# End-to-end tests of the `desk` CLI against the real frontdeskd on a fresh
# database: every session and admin command, exit codes from sysexits.h,
# JSON output, the 0600 session file, and that text from the database is
# never printed raw to the terminal. Prints "@@ passed=P failed=F" for
# tests/run.sh.
set -uo pipefail

# shellcheck source=tests/e2e/cli_lib.sh
. "$(dirname "$0")/cli_lib.sh"
cli_start desk_cli

expect "ping answers without a session" 0 "$desk" ping
expect "whoami before login is refused (77)" 77 "$desk" whoami
expect "unknown command is a usage error (64)" 64 "$desk" frobnicate
expect "missing flag is a usage error (64)" 64 "$desk" login
expect "unreachable server says unavailable (69)" 69 "$desk" --server ipc:///tmp/fdt-nobody-$$.sock ping
expect "every command has --help" 0 "$desk" staff add --help
expect "wrong password is refused (77)" 77 sh -c "echo wrong-password | '$desk' login --user reception1 --desk front-1 --password-stdin"
expect "login with --password-stdin" 0 sh -c "echo test-password-1 | '$desk' login --user reception1 --desk front-1 --password-stdin"

mode=$(stat -c %a "$XDG_CONFIG_HOME/frontdesk/session" 2>/dev/null)
if [ "$mode" = 600 ]; then ok "session file is 0600"; else bad "session file is 0600" "mode $mode"; fi

expect "whoami after login" 0 "$desk" whoami
if grep -q reception1 "$work/out"; then ok "whoami names the user"; else bad "whoami names the user" "$(cat "$work/out")"; fi
expect "whoami --json" 0 "$desk" --json whoami
if python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); assert "reception1" in json.dumps(d)' "$work/out"; then
	ok "whoami --json is JSON naming the user"; else bad "whoami --json is JSON naming the user" "$(cat "$work/out")"; fi
expect "front desk may not add desks (77)" 77 "$desk" desks add --code front-9 --name "Front 9"
expect "front desk may list desks" 0 "$desk" desks list
expect "logout" 0 "$desk" logout
expect "whoami after logout is refused" 77 "$desk" whoami

expect "admin login via FRONTDESK_PASSWORD" 0 env FRONTDESK_PASSWORD=test-password-1 "$desk" login --user admin --desk front-1
expect "admin adds a desk" 0 "$desk" desks add --code front-3 --name "Front desk 3"
expect "a duplicate desk is refused (65)" 65 "$desk" desks add --code front-3 --name "Again"
expect "admin adds staff" 0 env FRONTDESK_NEW_PASSWORD=new-password-9 "$desk" staff add --user ada --name "Ada Lovelace" --role front_desk
expect "staff list --json" 0 "$desk" --json staff list
if python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); assert "ada" in json.dumps(d)' "$work/out"; then
	ok "the new staff member is listed"; else bad "the new staff member is listed" "$(cat "$work/out")"; fi
expect "the new staff member can log in" 0 env FRONTDESK_PASSWORD=new-password-9 XDG_CONFIG_HOME="$work/ada" "$desk" login --user ada --desk front-3
expect "control characters in a name are refused (65)" 65 env FRONTDESK_NEW_PASSWORD=new-password-9 "$desk" staff add --user eve --name $'\e[31mEve' --role nurse
expect "a bidi override in a name is stored" 0 env FRONTDESK_NEW_PASSWORD=new-password-9 "$desk" staff add --user mallory --name $'Mal\u202elory' --role nurse
expect "staff list shows it" 0 "$desk" staff list
if grep -q $'\u202e' "$work/out"; then bad "the bidi override is printed escaped" "raw U+202E in output"
elif grep -q 'Mal' "$work/out"; then ok "the bidi override is printed escaped"
else bad "the bidi override is printed escaped" "$(cat "$work/out")"; fi

cli_finish
