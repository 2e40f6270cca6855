#!/usr/bin/env bash
# The short fuzz run inside `make test`: every libFuzzer target in
# tests/fuzz/ (the request envelope through the server's gate, and every
# method's decode-validate path) for 15 s each from the committed seed
# corpus, under ASan+UBSan. One pass per target that found nothing; a crash,
# leak, sanitizer report or broken invariant fails it and leaves the input in
# build/fuzz/artifacts/<target>/. `make fuzz` runs the same targets longer.
set -euo pipefail
root=$(cd -- "$(dirname -- "${BASH_SOURCE[0]}")/../.." && pwd -P)
# make test has just built everything; tests/fuzz/run.sh prints the @@ line.
FUZZ_SECONDS=15 FUZZ_NO_MAKE=1 exec "$root/tests/fuzz/run.sh"
