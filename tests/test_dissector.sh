#!/bin/sh
# tests/test_dissector.sh - the Wireshark dissector (tools/wireshark/daqmux.lua)
# shows exactly the frames a real run sent. tcpdump captures a daqmux run on
# lo: 3 sources, mostly 64-byte frames as fast as possible (many frames per
# segment) and every 10th frame 70000 bytes (one frame over several
# segments), one frame sent with a wrong CRC on purpose; then one more
# source whose first frame (70000 bytes) already needs a second segment, so
# the heuristic must ask TCP for more on the very packet it recognises the
# stream by. tshark with the
# script must list per source HELLO, DATA 0..N-1 once each and BYE N, flag
# that one CRC and no other, through the heuristic (random port) and
# through "decode as daqmux" alike. Needs root, tcpdump and tshark.
set -u
# shellcheck source=tests/shlib.sh
. "$(dirname "$0")/shlib.sh"

lua=tools/wireshark/daqmux.lua
sources=3 count=200 bad_src=1 bad_seq=5

sh_need_root "capturing on lo"
sh_need_cmd tcpdump tcpdump
sh_need_cmd tshark tshark
[ -x "$DAQMUX" ] || sh_fail "$DAQMUX is not built"

ts() { tshark -r "$sh_tmp/cap.pcap" -X lua_script:$lua -o tcp.desegment_tcp_streams:TRUE "$@" 2>"$sh_tmp/tshark.err"; }

# The script loads and registers where it says it does.
tshark -G decodes -X lua_script:$lua 2>/dev/null | grep -q '^tcp\.port	5555	daqmux$' ||
	sh_fail "daqmux is not registered on tcp.port 5555 (tshark -G decodes)"
tshark -G heuristic-decodes -X lua_script:$lua 2>/dev/null | grep -q '^tcp	daqmux	T$' ||
	sh_fail "daqmux is not an enabled heuristic dissector for tcp (tshark -G heuristic-decodes)"

sh_bg "$sh_tmp/server.out" "$DAQMUX" server --listen 127.0.0.1:0 --sources $((sources + 1)) \
	--duration 60 --quiet --json "$sh_tmp/server.json"
server=$sh_last
addr=$(sh_listen_addr "$sh_tmp/server.out") || sh_fail "server did not start: $(cat "$sh_tmp/server.out")"
port=${addr##*:}

# A large kernel buffer (-B, KiB) so that nothing is dropped at this rate.
sh_bg "$sh_tmp/tcpdump.err" tcpdump -i lo --immediate-mode -B 32768 -Z root -n \
	-w "$sh_tmp/cap.pcap" "tcp port $port"
tcpdump=$sh_last
sh_wait_for "$sh_tmp/tcpdump.err" '^tcpdump: listening on' 10 ||
	sh_fail "tcpdump did not start: $(cat "$sh_tmp/tcpdump.err")"

timeout 60 "$DAQMUX" client --connect "$addr" --sources $sources --count $count \
	--rate max --size 64 --big 10:70000 --fault $bad_src:crc@$bad_seq --quiet \
	>"$sh_tmp/client.out" 2>&1 || sh_fail "client failed: $(cat "$sh_tmp/client.out")"
big_count=3
timeout 60 "$DAQMUX" client --connect "$addr" --first-id $sources --count $big_count \
	--size 70000 --rate max --quiet >"$sh_tmp/client.out" 2>&1 ||
	sh_fail "client failed: $(cat "$sh_tmp/client.out")"
sh_wait "$server"
[ "$(sh_json_num "$sh_tmp/server.json" complete)" = $((sources + 1)) ] ||
	sh_fail "the server did not see $((sources + 1)) complete sources: $(cat "$sh_tmp/server.out")"
[ "$(sh_json_num "$sh_tmp/server.json" crc_errors)" = 1 ] ||
	sh_fail "the server did not count exactly one CRC error"

kill -INT "$tcpdump"
sh_wait "$tcpdump"
grep -q '^0 packets dropped by kernel' "$sh_tmp/tcpdump.err" ||
	sh_fail "tcpdump dropped packets, the capture is incomplete: $(cat "$sh_tmp/tcpdump.err")"

# What was sent, one line per message: TYPE SOURCE SEQ CRC_OK (HELLO's
# sequence is not checked).
i=0
while [ $i -le $sources ]; do
	n=$count
	[ $i = $sources ] && n=$big_count
	echo "1 $i - 1"
	seq 0 $((n - 1)) | awk -v s=$i -v bs=$bad_src -v bq=$bad_seq \
		'{ print "2", s, $1, (s == bs && $1 == bq) ? 0 : 1 }'
	echo "4 $i $n 1"
	i=$((i + 1))
done | sort >"$sh_tmp/expected"

# One tshark line per packet, each field listing its occurrences with
# commas; unzip them into one line per message.
messages() {
	awk -F'\t' '$1 != "" {
		n = split($1, t, ","); split($2, s, ","); split($3, q, ","); split($4, ok, ",")
		for (i = 1; i <= n; i++) {
			if (ok[i] == "True" || ok[i] == "TRUE") ok[i] = 1
			if (ok[i] == "False" || ok[i] == "FALSE") ok[i] = 0
			print t[i], s[i], (t[i] == 1 ? "-" : q[i]), ok[i]
		}
	}' | sort
}
check() { # check LABEL TSHARK-OPTIONS...
	label=$1; shift
	ts "$@" -T fields -E occurrence=a -e daqmux.type -e daqmux.source -e daqmux.seq \
		-e daqmux.crc_ok >"$sh_tmp/fields" || sh_fail "tshark ($label) failed: $(cat "$sh_tmp/tshark.err")"
	grep -i 'dissector bug\|lua error' "$sh_tmp/tshark.err" &&
		sh_fail "tshark ($label) reports a dissector error"
	messages <"$sh_tmp/fields" >"$sh_tmp/got"
	if ! cmp -s "$sh_tmp/expected" "$sh_tmp/got"; then
		echo "expected (<) and dissected (>) messages differ ($label):"
		diff "$sh_tmp/expected" "$sh_tmp/got" | head -n 20
		sh_fail "the dissector ($label) does not show exactly the frames that were sent"
	fi
	echo "$label: $(wc -l <"$sh_tmp/got") messages as sent"
}
check heuristic
check "decode as" -d "tcp.port==$port,daqmux"

# The run exercised both reassembly cases, so the checks above covered them.
multi=$(awk -F'\t' 'split($1, t, ",") > 1' "$sh_tmp/fields" | wc -l)
spread=$(ts -Y 'daqmux && tcp.reassembled.length' -T fields -e frame.number | wc -l)
echo "packets with several messages: $multi; messages reassembled from several segments: $spread"
[ "$multi" -gt 0 ] || sh_fail "no packet held several messages; the run does not test that case"
[ "$spread" -gt 0 ] || sh_fail "no message spanned segments; the run does not test that case"

# The CRC error is an expert error, the one Wireshark's users see.
experts=$(ts -Y 'daqmux.crc_bad' -T fields -e frame.number | wc -l)
[ "$experts" = 1 ] || sh_fail "expected one packet with the daqmux.crc_bad expert info, found $experts"
sh_pass
