#!/bin/sh
# tools/demo.sh [DAQMUX] - `make demo`: the blocked-on-sockfd_0 problem in
# under 30 seconds, for a lecture. Four sources send 64-byte frames at
# 1 kHz; source 0 connects and says nothing for its first second. The same
# run with `blocking`, `epoll` and `threads`, each server printing a line
# every half second (-i 0.5) so the stall shows while it happens; then a
# side-by-side read from the per-frame traces, and a timeline plot of the
# latency of every frame (gnuplot) in build/demo/timeline.png.
# docs/teaching.md has the labs that take each step further.
set -eu

daqmux=${1:-bin/daqmux}
out=${DEMO_OUT:-build/demo}
silent=1 count=2000 rate=1000 sources=4

[ -x "$daqmux" ] || { echo "demo: $daqmux is not built (make)" >&2; exit 2; }
mkdir -p "$out"

server_pid='' tail_pid=''
cleanup() {
	[ -n "$tail_pid" ] && kill "$tail_pid" 2>/dev/null
	[ -n "$server_pid" ] && kill "$server_pid" 2>/dev/null
	return 0
}
trap cleanup EXIT INT TERM

# run BACKEND: one blocked run; the server's lines stream to the terminal.
run() {
	be=$1 log=$out/$1.out
	echo
	echo "==== $be: $sources sources at $rate Hz, source 0 silent for the first ${silent} s"
	echo "\$ daqmux server --backend $be --sources $sources -i 0.5 &"
	echo "\$ daqmux client --sources $sources --rate $rate --count $count --silent 0:$silent"
	: >"$log"
	"$daqmux" server --backend "$be" --listen 127.0.0.1:0 --sources "$sources" -i 0.5 \
		--json "$out/$be.json" --trace "$out/$be.csv" >"$log" 2>&1 &
	server_pid=$!
	tries=0
	until grep -q '^listening on ' "$log"; do
		tries=$((tries + 1))
		if [ "$tries" -gt 100 ] || ! kill -0 "$server_pid" 2>/dev/null; then
			cat "$log" >&2
			echo "demo: the $be server did not start" >&2
			exit 1
		fi
		sleep 0.05
	done
	addr=$(sed -n 's/^listening on //p' "$log")
	tail -n +2 -f "$log" &
	tail_pid=$!
	"$daqmux" client --connect "$addr" --sources "$sources" --rate "$rate" --count "$count" \
		--silent "0:$silent" --quiet
	wait "$server_pid" || true
	server_pid=
	sleep 0.1   # let tail show the summary's last line
	kill "$tail_pid" 2>/dev/null || true
	wait "$tail_pid" 2>/dev/null || true
	tail_pid=
}

for be in blocking epoll threads; do
	run "$be"
done

# The side-by-side, from the traces (source,seq,send_ns,recv_ns, times
# since the server's start): what sources 1-3 got while source 0 was
# silent, and how late.
echo
echo "==== side by side: the frames sources 1-3 sent while source 0 was silent"
printf '%-9s %6s %22s %16s %14s\n' backend sent "delivered in silence" "median latency" "max latency"
for be in blocking epoll threads; do
	awk -F, -v be="$be" '
	NR == 1 { next }
	$1 == 0 && (s0send == "" || $3 < s0send) { s0send = $3 }
	$1 == 0 && (s0recv == "" || $4 < s0recv) { s0recv = $4 }
	$1 != 0 { n++; send[n] = $3; recv[n] = $4 }
	END {
		m = 0; got = 0
		for (i = 1; i <= n; i++) {
			if (send[i] >= s0send) continue
			m++; lat[m] = (recv[i] - send[i]) / 1e6
			if (recv[i] < s0recv) got++
		}
		# insertion sort: a few thousand latencies, in ms
		for (i = 2; i <= m; i++) { v = lat[i]; j = i - 1
			while (j > 0 && lat[j] > v) { lat[j + 1] = lat[j]; j-- } lat[j + 1] = v }
		printf "%-9s %6d %22d %13.2f ms %11.2f ms\n", be, m, got,
		       m ? lat[int((m + 1) / 2)] : 0, m ? lat[m] : 0
	}' "$out/$be.csv"
done
echo "(blocking sits in read(source 0) for the whole silence; epoll waits for all"
echo " four sockets at once; threads sleep in one read() each)"

if command -v gnuplot >/dev/null 2>&1; then
	{
		echo "set terminal pngcairo size 1000,700 noenhanced"
		echo "set output '$out/timeline.png'"
		echo "set multiplot layout 3,1 title 'latency of every frame; source 0 silent for the first ${silent} s'"
		echo "set logscale y; set yrange [1e-5:5]; set ylabel 'latency'; set datafile separator ','"
		echo "set ytics ('10 us' 1e-5, '100 us' 1e-4, '1 ms' 1e-3, '10 ms' 1e-2, '100 ms' 0.1, '1 s' 1)"
		echo "set arrow 1 from $silent, graph 0 to $silent, graph 1 nohead dt 2 lc rgb '#888888'"
		for be in blocking epoll threads; do
			[ "$be" = threads ] && echo "set xlabel 'send time (s since the server started)'"
			echo "set title '$be'"
			echo "plot '$out/$be.csv' every ::1 using (\$3/1e9):(\$1 != 0 ? (\$4-\$3)/1e9 : 1/0) with points pt 7 ps 0.2 lc rgb '#1f77b4' title 'sources 1-3', \\"
			echo "     '' every ::1 using (\$3/1e9):(\$1 == 0 ? (\$4-\$3)/1e9 : 1/0) with points pt 7 ps 0.2 lc rgb '#d62728' title 'source 0 (silent at first)'"
		done
		echo "unset multiplot"
	} >"$out/timeline.gp"
	if gnuplot "$out/timeline.gp" 2>"$out/gnuplot.err"; then
		echo
		echo "timeline plot: $out/timeline.png"
	else
		echo "demo: gnuplot failed: $(head -3 "$out/gnuplot.err")" >&2
	fi
else
	echo "demo: no timeline plot: gnuplot is not installed (apt-get install gnuplot-nox)" >&2
fi
echo "next: docs/teaching.md - e.g. watch the stall call by call:"
echo "  $daqmux server --backend blocking --sources 4 --events &"
echo "  $daqmux client --sources 4 --count 200 --silent 0:0.5"
