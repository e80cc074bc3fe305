#!/bin/sh
# tests/test_demo.sh - `make demo` (tools/demo.sh) tells its story: blocking
# delivers none of the frames sources 1-3 send while source 0 is silent,
# epoll and threads deliver all of them; each run prints its intervals and
# its summary; the timeline plot is drawn where gnuplot is installed; and
# the whole demo fits a lecture's 30 s (measured: 13-15 s on the shared
# 2-core build machine).
set -u
# shellcheck source=tests/shlib.sh
. "$(dirname "$0")/shlib.sh"

[ -x "$DAQMUX" ] || sh_fail "$DAQMUX is not built"
start=$(date +%s)
DEMO_OUT=$sh_tmp/demo tools/demo.sh "$DAQMUX" >"$sh_tmp/out" 2>&1 ||
	{ cat "$sh_tmp/out"; sh_fail "tools/demo.sh exited $?"; }
took=$(($(date +%s) - start))

for be in blocking epoll threads; do
	grep -q "^$be backend, push mode, 4 sources" "$sh_tmp/out" ||
		{ cat "$sh_tmp/out"; sh_fail "no $be summary"; }
done
[ "$(grep -c '^interval ' "$sh_tmp/out")" = 3 ] || sh_fail "not one interval header per run"

# "backend sent delivered median max": sources 1-3 sent 1 s x 1 kHz x 3;
# blocking delivers none of them during the silence, the others all.
for be in blocking epoll threads; do
	line=$(awk -v be="$be" '$1 == be && NF >= 7 && $2 ~ /^[0-9]+$/ { print $2, $3 }' "$sh_tmp/out")
	sent=${line% *} got=${line#* }
	want=$sent
	[ "$be" = blocking ] && want=0
	if [ -z "$line" ] || [ "$sent" -le 2500 ] || [ "$got" != "$want" ]; then
		cat "$sh_tmp/out"
		sh_fail "$be: sent ${sent:-?}, delivered during the silence ${got:-?}, want $want"
	fi
done

if command -v gnuplot >/dev/null 2>&1; then
	[ -s "$sh_tmp/demo/timeline.png" ] || sh_fail "gnuplot is here but no timeline.png"
fi
[ "$took" -le 30 ] || sh_fail "the demo took $took s, more than a lecture's 30 s"
echo "test_demo: $took s"
sh_pass
