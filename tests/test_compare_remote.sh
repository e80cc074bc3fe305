#!/bin/sh
# tests/test_compare_remote.sh - `daqmux compare --client-exec PREFIX` with
# the server in one network namespace and every client in another (two
# "hosts" joined by a veth pair, tools/netlab.sh): a short throughput run of
# one backend, whose results.json must have the run measured, and whose
# client JSON (which came back on the client's stdout, --json -) must count
# exactly the frames the server received, none lost, every source complete.
# Needs root and iproute2.
set -u
# shellcheck source=tests/shlib.sh
. "$(dirname "$0")/shlib.sh"

sh_need_root "creating network namespaces"
sh_need_cmd ip iproute2
[ -x "$DAQMUX" ] || sh_fail "$DAQMUX is not built"

# Names and a /30 of our own, so that a teacher's lab (daqmux-a/b) and
# test_netlab.sh, which may run at the same time, are never touched.
NETLAB_A=dqcmp-a-$$ NETLAB_B=dqcmp-b-$$
NETLAB_ADDR_A=10.77.1.1 NETLAB_ADDR_B=10.77.1.2
export NETLAB_A NETLAB_B NETLAB_ADDR_A NETLAB_ADDR_B
lab=tools/netlab.sh
daqmux=$(cd "$(dirname "$DAQMUX")" && pwd)/$(basename "$DAQMUX")
out=$sh_tmp/report

ip netns add "$NETLAB_A-probe" 2>"$sh_tmp/probe" ||
	sh_skip "cannot create a network namespace here: $(cat "$sh_tmp/probe")"
ip netns del "$NETLAB_A-probe"
sh_on_exit="$lab down >/dev/null 2>&1"
$lab up >"$sh_tmp/up" 2>&1 || sh_fail "netlab up failed: $(cat "$sh_tmp/up")"

timeout 120 ip netns exec "$NETLAB_A" "$daqmux" compare --quick --scenarios throughput \
	--backends epoll --repeat 1 --listen "$NETLAB_ADDR_A" \
	--client-exec "ip netns exec $NETLAB_B" --out "$out" >"$sh_tmp/compare.out" 2>&1 ||
	sh_fail "compare failed (exit $?): $(tail -20 "$sh_tmp/compare.out")"

# The run in results.json: measured ("ok"), frames counted, none lost.
grep -q '"backend": "epoll"' "$out/results.json" || sh_fail "results.json has no epoll case"
grep -q '"state": "ok"' "$out/results.json" ||
	sh_fail "results.json has no measured run: $(grep '"note"\|"why"' "$out/results.json" | head -3)"

# Every client really ran in the other namespace: it connected to the
# server's address on the veth pair, which does not exist outside the lab.
for s in "$out"/raw/throughput-epoll-*-r1.server.json; do
	case $s in *-discard-*) continue ;; esac   # the floor: the server counts nothing
	c=${s%.server.json}.client.json
	[ -s "$c" ] || sh_fail "no client JSON came back from the client's stdout ($c)"
	grep -q "\"connect\": \"$NETLAB_ADDR_A:" "$c" ||
		sh_fail "the client did not connect to $NETLAB_ADDR_A: $(grep '"connect"' "$c")"
	sf=$(sh_json_num "$s" frames) cf=$(sh_json_num "$c" frames)
	lost=$(sh_json_num "$s" lost) complete=$(sh_json_num "$s" complete)
	echo "$(basename "$s" .server.json): server $sf frames, client $cf, $lost lost, $complete complete"
	[ -n "$sf" ] && [ "$sf" -gt 0 ] && [ "$sf" = "$cf" ] && [ "$lost" = 0 ] && [ "$complete" = 8 ] ||
		sh_fail "not every frame the client sent was delivered ($s)"
done
ls "$out"/raw/throughput-epoll-*-r1.server.json >/dev/null 2>&1 || sh_fail "no run in raw/"

$lab down >/dev/null 2>&1 || sh_fail "netlab down failed"
sh_on_exit=""
sh_pass
