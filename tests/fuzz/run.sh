#!/usr/bin/env bash
# make fuzz (and tests/e2e/test_fuzz_short.sh): builds the libFuzzer targets
# tests/fuzz/fuzz_*.c with clang (-fsanitize=fuzzer,address,undefined) over
# the server's own sources and the generated protobuf-c code, into
# build/fuzz/, then runs each for FUZZ_SECONDS from the committed seed corpus
# tests/fuzz/corpus/<target>/. New inputs go to build/fuzz/work/<target>/
# (never into the tree); a crash, leak, sanitizer report or hang is written to
# build/fuzz/artifacts/<target>/ and fails the target.
#
# Prints "  ok   <target> ..." / "  FAIL <target> ..." per target and the
# machine line "@@ passed=P failed=F" (tests/run.sh adds it up); exit status 0
# iff every target ran clean.
#
# Usage: tests/fuzz/run.sh [TARGET...]   only these targets (e.g. fuzz_payload)
#        tests/fuzz/run.sh --seed        rewrite tests/fuzz/corpus/ from the
#                                        method table (tests/fuzz/seed_corpus.c)
# Env:   FUZZ_SECONDS   seconds per target (default 300; make fuzz passes its own)
#        FUZZ_NO_MAKE=1 do not run `make` first (the caller just built)
#        FUZZ_JOBS      parallel compiles (default 2: the machine is shared)
set -euo pipefail

root=$(cd -- "$(dirname -- "${BASH_SOURCE[0]}")/../.." && pwd -P)
cd -- "$root"

seconds=${FUZZ_SECONDS:-300}
jobs=${FUZZ_JOBS:-2}
out=$root/build/fuzz
gen=build/gen
CLANG=${FUZZ_CC:-clang}

fail_setup() {
	echo "  FAIL fuzz setup: $*"
	echo "@@ passed=0 failed=1"
	exit 1
}

command -v "$CLANG" >/dev/null || fail_setup "$CLANG not found (make deps installs clang)"
if [[ -z ${FUZZ_NO_MAKE:-} ]]; then
	# The generated protobuf-c code and the release libraries (for the seed
	# program) come from the ordinary build (which a fresh clone has not
	# made yet: its folder may not exist).
	mkdir -p "$root/build"
	make --no-print-directory all >"$root/build/fuzz-make.log" 2>&1 ||
		{ tail -n 30 "$root/build/fuzz-make.log"; fail_setup "make failed"; }
fi
[[ -f $gen/frontdesk/v1/all.h && -f $gen/schema_version.h ]] ||
	fail_setup "no generated code under $gen: run make first"

mkdir -p "$out/obj"
# One build at a time per tree (engineers share build/fuzz/); the lock is
# let go before fuzzing, so a long `make fuzz` never holds up `make test`.
exec 9>"$out/.lock"
flock 9

cppflags=(-std=c11 -D_GNU_SOURCE -I. -Icommon "-I$gen" -Iserver -Iclient/lib
	-I/usr/include/postgresql "-DFD_SOURCE_DIR=\"$root\"")
sanflags=(-g -O1 -fno-omit-frame-pointer -fsanitize=address,undefined
	-fno-sanitize-recover=undefined)
libs=(-lnng -lprotobuf-c -lpq -luv -lsodium -lpthread -lm)

# What the server is made of, minus its main(): the same files the Makefile
# links into frontdeskd, plus every generated message.
sources=(common/*.c server/*.c server/db/*.c server/handlers/*.c "$gen"/frontdesk/v1/*.pb-c.c)
lib_sources=()
for s in "${sources[@]}"; do
	[[ $s == server/main.c ]] || lib_sources+=("$s")
done

obj_of() { local s=${1#"$gen/"}; echo "$out/obj/${s%.c}.o"; }

# True when $1's object is missing or older than the source or any header
# it included last time (clang -MMD wrote the list).
stale() {
	local src=$1 obj dep f
	obj=$(obj_of "$src")
	dep=${obj%.o}.d
	[[ -f $obj && -f $dep ]] || return 0
	for f in $(sed -e 's/^[^:]*://' -e 's/\\$//' "$dep"); do
		[[ -e $f && ! $f -nt $obj ]] || return 0
	done
	return 1
}

compile() {
	local src=$1 obj extra=()
	obj=$(obj_of "$src")
	mkdir -p "$(dirname -- "$obj")"
	[[ $src == "$gen"/* ]] && extra=(-w)
	# Our fuzz code is held to the project's warnings, as errors.
	[[ $src == tests/fuzz/* ]] && extra=(-Wall -Wextra -Wformat=2 -Wshadow -Wvla
		-Wno-unused-parameter -Wstrict-prototypes -Wmissing-prototypes -Werror)
	"$CLANG" "${cppflags[@]}" "${sanflags[@]}" -fsanitize=fuzzer-no-link "${extra[@]}" \
		-MMD -MP -c -o "$obj" "$src"
}

build_objects() {
	local todo=() s running=0 rc=0
	for s in "${lib_sources[@]}" tests/fuzz/*.c; do
		stale "$s" && todo+=("$s")
	done
	((${#todo[@]} == 0)) && return 0
	echo "fuzz: compiling ${#todo[@]} files with $CLANG (ASan+UBSan, libFuzzer coverage)"
	for s in "${todo[@]}"; do
		compile "$s" >>"$out/compile.log" 2>&1 &
		running=$((running + 1))
		if ((running >= jobs)); then
			wait -n || rc=1
			running=$((running - 1))
		fi
	done
	while ((running > 0)); do
		wait -n || rc=1
		running=$((running - 1))
	done
	return "$rc"
}

: >"$out/compile.log"
if ! build_objects; then
	grep -E 'error' "$out/compile.log" | head -n 20
	fail_setup "compiling with $CLANG failed (see build/fuzz/compile.log)"
fi
lib_objs=()
for s in "${lib_sources[@]}"; do
	lib_objs+=("$(obj_of "$s")")
done

if [[ ${1:-} == --seed ]]; then
	"$CLANG" "${sanflags[@]}" -o "$out/seed_corpus" "$(obj_of tests/fuzz/seed_corpus.c)" \
		"${lib_objs[@]}" "${libs[@]}" || fail_setup "linking seed_corpus failed"
	rm -rf -- "$root/tests/fuzz/corpus"
	"$out/seed_corpus" "$root/tests/fuzz/corpus"
	exit 0
fi

targets=("$@")
if ((${#targets[@]} == 0)); then
	for f in tests/fuzz/fuzz_*.c; do
		targets+=("$(basename -- "${f%.c}")")
	done
fi

# UBSan stops at the first report (-fno-sanitize-recover) and libFuzzer then
# saves the input. Nothing of ours is suppressed.
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=1:symbolize=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}

passed=0
failed=0
# Link every target first (renamed into place, so a run already going on
# keeps its binary), then release the build lock.
runnable=()
for t in "${targets[@]}"; do
	bin=$out/$t
	if [[ ! -f tests/fuzz/$t.c ]]; then
		echo "  FAIL $t: no tests/fuzz/$t.c"
		failed=$((failed + 1))
		continue
	fi
	if ! "$CLANG" "${sanflags[@]}" -fsanitize=fuzzer -o "$bin.$$" "$(obj_of "tests/fuzz/$t.c")" \
		"${lib_objs[@]}" "${libs[@]}" >"$out/$t.link.log" 2>&1; then
		cat "$out/$t.link.log"
		rm -f -- "$bin.$$"
		echo "  FAIL $t: link failed"
		failed=$((failed + 1))
		continue
	fi
	mv -f -- "$bin.$$" "$bin"
	runnable+=("$t")
done
flock -u 9

for t in "${runnable[@]}"; do
	bin=$out/$t
	work=$out/work/$t
	artifacts=$out/artifacts/$t
	mkdir -p "$work" "$artifacts"
	seeds=()
	[[ -d tests/fuzz/corpus/$t ]] && seeds=("tests/fuzz/corpus/$t")
	log=$out/$t.log
	echo "fuzz: $t for ${seconds} s (log: build/fuzz/$t.log)"
	rc=0
	"$bin" -max_total_time="$seconds" -timeout=60 -rss_limit_mb=2048 -max_len=16384 \
		-print_final_stats=1 -artifact_prefix="$artifacts/" \
		"$work" "${seeds[@]}" >"$log" 2>&1 || rc=$?
	runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -n 1)
	if ((rc == 0)); then
		echo "  ok   $t: ${runs:-?} inputs in ${seconds} s, nothing found"
		passed=$((passed + 1))
	else
		grep -E 'ERROR|SUMMARY|runtime error|fuzz_|Test unit written' "$log" | head -n 20 || true
		echo "  FAIL $t: exited $rc; the input is in build/fuzz/artifacts/$t/"
		failed=$((failed + 1))
	fi
done

echo "@@ passed=$passed failed=$failed"
((failed == 0))
