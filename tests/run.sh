#!/usr/bin/env bash
# make test / make valgrind: runs the whole suite against a throwaway PostgreSQL
# 15 cluster (pgcluster.sh in a fresh mktemp folder, FD_PG_FAST=1), stopped and
# removed on exit. Runs the C test binaries $BUILD/tests/{unit,rpc,e2e}/test_*
# (in that order, sorted) and then the scripts tests/e2e/test_*.sh (with bash).
# Each prints "  ok   name" / "  FAIL name" lines and a machine line
# "@@ passed=P failed=F"; this script adds them up and ends with exactly
# "N passed, N failed". A binary that exits non-zero with no failure counted,
# crashes, times out or prints no @@ line counts as one more failure.
# Exit status 0 iff nothing failed and at least one test ran.
#
# Usage: tests/run.sh [FILTER...]   only binaries/scripts whose "dir/name"
#                                   contains one of the FILTER substrings
# Env:   BUILD            build folder (default build/release)
#        FD_VALGRIND=1    run each C test binary under valgrind memcheck
#                         (exported, so tests that spawn the server wrap it too)
#        FD_TEST_TIMEOUT  per-binary timeout in seconds (default 600)
# Tests get: PGHOST PGPORT PGUSER PGDATABASE=postgres (the throwaway cluster),
#        FRONTDESK_BIN_DIR=$BUILD/bin, FD_PG_DIR (cluster folder) and
#        FD_PGCLUSTER (path of pgcluster.sh, e.g. to stop/start the cluster).
set -euo pipefail

root=$(cd -- "$(dirname -- "${BASH_SOURCE[0]}")/.." && pwd -P)
cd -- "$root"

BUILD=${BUILD:-build/release}
[[ $BUILD == /* ]] || BUILD=$root/$BUILD
timeout_s=${FD_TEST_TIMEOUT:-600}
valgrind=${FD_VALGRIND:-}
pgcluster=$root/server/scripts/pgcluster.sh
filters=("$@")

selected() {
	local label=$1 f
	((${#filters[@]} == 0)) && return 0
	for f in "${filters[@]}"; do
		[[ $label == *"$f"* ]] && return 0
	done
	return 1
}

# The suite: "kind label path" lines, C binaries first (unit, rpc, e2e), then scripts.
tests=()
for sub in unit rpc e2e; do
	[[ -d $BUILD/tests/$sub ]] || continue
	while IFS= read -r path; do
		label=$sub/$(basename -- "$path")
		selected "$label" && tests+=("bin:$label:$path")
	done < <(find "$BUILD/tests/$sub" -maxdepth 1 -type f -name 'test_*' -executable \
		! -name '*.o' ! -name '*.d' | LC_ALL=C sort)
done
while IFS= read -r path; do
	label=e2e/$(basename -- "$path")
	selected "$label" && tests+=("sh:$label:$path")
done < <(find "$root/tests/e2e" -maxdepth 1 -type f -name 'test_*.sh' 2>/dev/null | LC_ALL=C sort)

if ((${#tests[@]} == 0)); then
	echo "run.sh: no test binaries or scripts found under $BUILD/tests or tests/e2e${filters[*]:+ matching: ${filters[*]}}"
	echo "0 passed, 0 failed"
	exit 1
fi

tmp=$(mktemp -d -t frontdesk-test.XXXXXX)
pg_log=$tmp/pgcluster.log
cleanup_done=
cleanup() {
	[[ -n $cleanup_done ]] && return 0
	cleanup_done=1
	local ok=0
	"$pgcluster" stop "$tmp/pg" >>"$pg_log" 2>&1 || ok=1
	if ((ok != 0)); then
		echo "run.sh: stopping the test PostgreSQL failed:"
		cat "$pg_log"
	fi
	rm -rf -- "$tmp"
	return "$ok"
}
# shellcheck disable=SC2317 # trap handler
on_exit() {
	local rc=$?
	cleanup >/dev/null 2>&1 || true
	exit "$rc"
}
trap on_exit EXIT

interrupted=
cur_pid=
# shellcheck disable=SC2317 # trap handler
on_signal() {
	interrupted=1
	if [[ -n $cur_pid ]]; then
		kill -TERM "$cur_pid" 2>/dev/null || true
	fi
}
trap on_signal INT TERM HUP

if ! FD_PG_FAST=1 "$pgcluster" start "$tmp/pg" >"$pg_log" 2>&1; then
	cat "$pg_log"
	echo "run.sh: could not start the test PostgreSQL"
	echo "0 passed, 1 failed"
	exit 1
fi
eval "$("$pgcluster" env "$tmp/pg")"
export PGDATABASE=postgres
export FRONTDESK_BIN_DIR=$BUILD/bin
export FD_PG_DIR=$tmp/pg FD_PGCLUSTER=$pgcluster
if [[ $valgrind == 1 ]]; then
	export FD_VALGRIND=1
fi

total_passed=0
total_failed=0
log=$tmp/test.log

# run_one LABEL CMD...: runs one test with its output passed through (and kept
# in $log), then adds its counts to the totals.
run_one() {
	local label=$1
	shift
	local rc=0 tee_pid logfd
	: >"$log"
	exec {logfd}> >(tee -- "$log")
	tee_pid=$!
	# timeout puts the test in its own process group; leftovers are killed below.
	local start=$SECONDS
	timeout -k 10 "$timeout_s" "$@" </dev/null >&"$logfd" 2>&1 &
	cur_pid=$!
	while :; do
		rc=0
		wait "$cur_pid" 2>/dev/null || rc=$? # we report crashes ourselves
		# wait returns early when a trapped signal arrives: wait again.
		kill -0 "$cur_pid" 2>/dev/null || break
	done
	# Whatever the test left behind in its group (e.g. a spawned server).
	local leftovers=
	if kill -0 -- "-$cur_pid" 2>/dev/null; then
		leftovers=1
		kill -KILL -- "-$cur_pid" 2>/dev/null || true
	fi
	cur_pid=
	exec {logfd}>&-
	local i
	for ((i = 0; i < 50; i++)); do
		kill -0 "$tee_pid" 2>/dev/null || break
		sleep 0.1
	done
	kill "$tee_pid" 2>/dev/null || true
	wait "$tee_pid" 2>/dev/null || true
	if [[ -n $leftovers ]]; then
		echo "  note: killed processes that $label left running"
	fi

	local line passed='' failed=''
	line=$(grep -E '^@@ passed=[0-9]+ failed=[0-9]+[[:space:]]*$' "$log" | tail -n 1 || true)
	if [[ $line =~ passed=([0-9]+)\ failed=([0-9]+) ]]; then
		passed=${BASH_REMATCH[1]}
		failed=${BASH_REMATCH[2]}
	fi

	local why=''
	if [[ -z $interrupted ]] && ((rc == 124 || (rc == 137 && SECONDS - start >= timeout_s))); then
		why="killed by the ${timeout_s} s timeout"
	elif [[ -n $interrupted ]] && ((rc != 0)); then
		why="interrupted"
	elif ((rc > 128)); then
		why="crashed: killed by signal $(kill -l $((rc - 128)) 2>/dev/null || echo $((rc - 128)))"
	elif ((rc == 99)) && [[ -n $valgrind_run ]]; then
		why="valgrind reported errors (exit 99)"
	elif ((rc != 0)); then
		why="exited with status $rc"
	fi

	if [[ -n $passed ]]; then
		total_passed=$((total_passed + passed))
		total_failed=$((total_failed + failed))
		if [[ -n $why ]] && ((failed == 0)); then
			echo "  FAIL $label: $why after reporting no failure"
			total_failed=$((total_failed + 1))
		fi
	else
		[[ -n $why ]] || why="exited 0"
		echo "  FAIL $label: $why without a @@ line"
		total_failed=$((total_failed + 1))
	fi
}

vg=(valgrind --error-exitcode=99 --leak-check=full --errors-for-leak-kinds=definite
	--track-fds=no -q)

for t in "${tests[@]}"; do
	[[ -z $interrupted ]] || break
	kind=${t%%:*}
	rest=${t#*:}
	label=${rest%%:*}
	path=${rest#*:}
	valgrind_run=
	if [[ $kind == sh ]]; then
		echo "== $label"
		run_one "$label" bash "$path"
	elif [[ $valgrind == 1 ]]; then
		echo "== $label (valgrind)"
		valgrind_run=1
		run_one "$label" "${vg[@]}" "$path"
	else
		echo "== $label"
		run_one "$label" "$path"
	fi
done

if [[ -n $interrupted ]]; then
	echo "run.sh: interrupted; remaining tests not run"
	total_failed=$((total_failed + 1))
fi

trap - INT TERM HUP
cleanup || true
trap - EXIT

echo "$total_passed passed, $total_failed failed"
if ((total_failed == 0 && total_passed + total_failed > 0)); then
	exit 0
fi
exit 1
