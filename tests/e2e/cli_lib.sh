# Shared by the tests/e2e/test_*_cli.sh scripts (sourced, not run): result
# counting, expectations on exit codes and JSON output, and a real
# frontdeskd on a fresh migrated and seeded database. A script calls
# cli_start NAME first and cli_finish last; cli_finish prints the
# "@@ passed=P failed=F" line tests/run.sh adds up.
# shellcheck shell=bash

bin=${FRONTDESK_BIN_DIR:?run through tests/run.sh}
desk=$bin/desk
pass=0 fail=0
work=$(mktemp -d)
server_pid=

cli_cleanup() {
	if [ -n "$server_pid" ]; then
		kill -TERM "$server_pid" 2>/dev/null
		wait "$server_pid" 2>/dev/null
	fi
	rm -rf "$work"
}
trap cli_cleanup EXIT

ok() { pass=$((pass + 1)); echo "  ok   $1"; }
bad() { fail=$((fail + 1)); echo "  FAIL $1"; [ -n "${2:-}" ] && echo "    $2"; }

# expect NAME RC COMMAND...: runs COMMAND (stdout in $work/out, stderr in
# $work/err) and compares its exit code.
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

# json_get PYTHON-EXPR: prints EXPR with d = the last JSON output.
json_get() { python3 -c "import json,sys; d=json.load(open(sys.argv[1])); print($1)" "$work/out"; }

# sql SQL: runs SQL on the test's database, values only.
sql() { psql -qtA -d "$db" -c "$1"; }

# cli_start NAME: database t_NAME_PID (migrated, demo clinic with password
# test-password-1), a server on private ipc:// URLs, FRONTDESK_SERVER and a
# private XDG_CONFIG_HOME exported.
cli_start() {
	db=t_$1_$$
	sock=ipc:///tmp/fdt-$1-$$.sock
	events=ipc:///tmp/fdt-$1-ev-$$.sock
	export XDG_CONFIG_HOME=$work/config FRONTDESK_SERVER=$sock
	export FRONTDESK_DB="dbname=$db" FRONTDESK_PASSWORD_HASH_COST=min
	unset FRONTDESK_TOKEN FRONTDESK_PASSWORD
	psql -q -d postgres -c "CREATE DATABASE $db" >/dev/null
	"$bin/frontdeskd" migrate up >/dev/null
	FRONTDESK_DEMO_PASSWORD=test-password-1 "$bin/frontdeskd" seed-demo >/dev/null
	"$bin/frontdeskd" --listen="$sock" --events-listen="$events" serve 2>"$work/server.log" &
	server_pid=$!
	for _ in $(seq 100); do "$desk" ping >/dev/null 2>&1 && break; sleep 0.1; done
}

# cli_finish: stops the server (it must exit 0), drops the database, prints
# the totals line; returns non-zero when anything failed.
cli_finish() {
	kill -TERM "$server_pid"
	wait "$server_pid"
	local rc=$?
	server_pid=
	if [ "$rc" = 0 ]; then ok "server exits 0 on SIGTERM"; else
		bad "server exits 0 on SIGTERM" "exit $rc: $(tail -5 "$work/server.log")"; fi
	psql -q -d postgres -c "DROP DATABASE $db" >/dev/null 2>&1
	echo "@@ passed=$pass failed=$fail"
	[ "$fail" = 0 ]
}
