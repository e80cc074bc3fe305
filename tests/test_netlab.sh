#!/bin/sh
# tests/test_netlab.sh - tools/netlab.sh builds two namespaces joined by a
# veth pair whose addresses exist only inside them; a server in one and a
# client in the other exchange every frame, first over a plain link, then
# with a rate limit and 2 % random loss (which must really drop packets, and
# TCP must still deliver everything); `up` twice changes nothing; `down`
# leaves no namespace and no record. Needs root, iproute2 and nftables.
set -u
# shellcheck source=tests/shlib.sh
. "$(dirname "$0")/shlib.sh"

sh_need_root "creating network namespaces"
sh_need_cmd ip iproute2
sh_need_cmd tc iproute2
sh_need_cmd nft nftables
[ -x "$DAQMUX" ] || sh_fail "$DAQMUX is not built"

# Names of our own, so that a teacher's lab (daqmux-a/b) is never touched.
NETLAB_A=dqtest-a-$$ NETLAB_B=dqtest-b-$$
NETLAB_ADDR_A=10.77.0.1 NETLAB_ADDR_B=10.77.0.2
export NETLAB_A NETLAB_B NETLAB_ADDR_A NETLAB_ADDR_B
lab=tools/netlab.sh
sources=3 count=3000

ip netns add "$NETLAB_A-probe" 2>"$sh_tmp/probe" ||
	sh_skip "cannot create a network namespace here: $(cat "$sh_tmp/probe")"
ip netns del "$NETLAB_A-probe"
sh_on_exit="$lab down >/dev/null 2>&1"

gone() {
	for n in "$NETLAB_A" "$NETLAB_B"; do
		ip netns list | grep -q "^$n\( \|$\)" && sh_fail "namespace $n is still there after down"
	done
	[ -e "/run/daqmux-netlab/$NETLAB_A" ] && sh_fail "down left its record behind"
	return 0
}

# run LABEL - every frame of a push run from the client in B reaches the
# server in A.
run() {
	sh_bg "$sh_tmp/server.out" ip netns exec "$NETLAB_A" "$DAQMUX" server \
		--listen "$NETLAB_ADDR_A:0" --sources $sources --duration 60 --quiet \
		--json "$sh_tmp/server.json"
	server=$sh_last
	addr=$(sh_listen_addr "$sh_tmp/server.out") ||
		sh_fail "$1: server did not start: $(cat "$sh_tmp/server.out")"
	timeout 60 ip netns exec "$NETLAB_B" "$DAQMUX" client --connect "$addr" \
		--sources $sources --count $count --rate max --size 1024 --quiet \
		>"$sh_tmp/client.out" 2>&1 || sh_fail "$1: client failed: $(cat "$sh_tmp/client.out")"
	sh_wait "$server" || sh_fail "$1: server exit status $?: $(cat "$sh_tmp/server.out")"
	complete=$(sh_json_num "$sh_tmp/server.json" complete)
	frames=$(sh_json_num "$sh_tmp/server.json" frames)
	lost=$(sh_json_num "$sh_tmp/server.json" lost)
	echo "$1: $frames frames, $lost lost, $complete of $sources sources complete"
	[ "$complete" = $sources ] && [ "$frames" = $((sources * count)) ] && [ "$lost" = 0 ] ||
		sh_fail "$1: not every frame arrived"
}

# 1. A plain link.
$lab up || sh_fail "netlab up failed"
ip -br addr | grep -q "$NETLAB_ADDR_A\|$NETLAB_ADDR_B" &&
	sh_fail "the lab's addresses are visible outside its namespaces"
$lab up >"$sh_tmp/again" 2>&1 || sh_fail "a second up failed: $(cat "$sh_tmp/again")"
grep -q "already up" "$sh_tmp/again" || sh_fail "a second up did not say the lab is already up"
run "plain link"
$lab down || sh_fail "netlab down failed"
gone

# 2. Rate limit and loss: TCP retransmits, so still nothing is lost.
$lab up --rate 200mbit --loss 2 || sh_fail "netlab up --rate 200mbit --loss 2 failed"
run "200mbit, 2 % loss"
$lab status >"$sh_tmp/status" || sh_fail "netlab status failed"
drops=$(sed -n 's/.*dropped by the lab: \([0-9]*\) packets/\1/p' "$sh_tmp/status" |
	awk '{s += $1} END {print s + 0}')
echo "the lab dropped $drops packets"
[ "$drops" -gt 0 ] || sh_fail "with --loss 2 no packet was dropped: $(cat "$sh_tmp/status")"
$lab down || sh_fail "netlab down failed"
gone
sh_on_exit=""
sh_pass
