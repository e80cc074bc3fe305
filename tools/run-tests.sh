#!/bin/sh
# tools/run-tests.sh TEST... - run each cmocka test binary with a time
# limit, show its output, and end with one line that sums them up:
#   "N passed, N failed, N skipped"
# A binary that crashes or runs out of time counts as one failure.
# A shell test (tests/test_*.sh, sourcing tests/shlib.sh) is run the same
# way and reports like cmocka: it prints "[  PASSED  ] 1 test(s).",
# "[  FAILED  ] 1 test(s)..." or "[  SKIPPED ] 1 test(s)..." (after a line
# "SKIPPED: why") and exits non-zero only when it failed.
set -u
limit=${TEST_TIMEOUT:-900}
passed=0 failed=0 skipped=0 broken=""
out=$(mktemp) || exit 2
trap 'rm -f "$out"' EXIT

for t in "$@"; do
	echo "== $(basename "$t")"
	timeout -k 5 "$limit" "$t" >"$out" 2>&1
	rc=$?
	cat "$out"
	p=$(sed -n 's/^\[  PASSED  \] \([0-9]*\) test.*/\1/p' "$out" | awk '{s+=$1} END {print s+0}')
	f=$(sed -n 's/^\[  FAILED  \] \([0-9]*\) test.*/\1/p' "$out" | awk '{s+=$1} END {print s+0}')
	k=$(sed -n 's/^\[  SKIPPED \] \([0-9]*\) test.*/\1/p' "$out" | awk '{s+=$1} END {print s+0}')
	passed=$((passed + p)) failed=$((failed + f)) skipped=$((skipped + k))
	if [ "$rc" -ne 0 ] && [ "$f" -eq 0 ]; then
		failed=$((failed + 1))
		broken="$broken $(basename "$t")(exit $rc)"
	fi
done
[ -n "$broken" ] && echo "crashed or timed out:$broken"
echo "$passed passed, $failed failed, $skipped skipped"
[ "$failed" -eq 0 ]
