#!/bin/sh
# tools/netlab.sh - two "hosts" on one machine: two network namespaces joined
# by a veth pair, optionally with a rate limit and random loss, so that a
# daqmux server and client talk over a real link instead of lo.
#
#   tools/netlab.sh up [--rate RATE] [--loss PCT] [--mtu BYTES]
#   tools/netlab.sh status
#   tools/netlab.sh down
#
#   --rate RATE   tc tbf on both ends, e.g. 100mbit, 1gbit, 500kbit
#   --loss PCT    each direction drops PCT % of the packets at random
#                 (integer 1-99): tc netem where the kernel has it,
#                 otherwise an nftables rule "numgen random mod 100 < PCT
#                 drop" in each namespace's input hook
#   --mtu BYTES   MTU of the veth pair (default 1500)
#
# Then:  ip netns exec daqmux-a bin/daqmux server --listen 10.77.0.1:5555 &
#        ip netns exec daqmux-b bin/daqmux client --connect 10.77.0.1:5555
#
# Names and addresses can be changed with NETLAB_A, NETLAB_B (namespaces),
# NETLAB_ADDR_A, NETLAB_ADDR_B (a /30 that exists only inside the two
# namespaces), NETLAB_NETEM=no (use nftables for the loss even where netem
# exists). `up` on a lab that is already up says so and changes nothing;
# `down` removes exactly what `up` created (it keeps a record in
# /run/daqmux-netlab/). Needs root, iproute2 and, for --loss without netem,
# nftables.
set -u

A=${NETLAB_A:-daqmux-a}
B=${NETLAB_B:-daqmux-b}
ADDR_A=${NETLAB_ADDR_A:-10.77.0.1}
ADDR_B=${NETLAB_ADDR_B:-10.77.0.2}
IF_A=veth-a   # interface names live inside the namespaces, so they never clash
IF_B=veth-b
STATE_DIR=/run/daqmux-netlab
STATE=$STATE_DIR/$A
NFT_TABLE=daqmux_netlab

say() { echo "netlab: $*"; }
die() { echo "netlab: $*" >&2; exit 1; }
ns_exists() { ip netns list 2>/dev/null | grep -q "^$1\( \|$\)"; }

need() {
	[ "$(id -u)" = 0 ] || die "needs root (network namespaces, tc, nftables)"
	command -v ip >/dev/null 2>&1 || die "ip is missing (Debian: apt-get install -y iproute2)"
}

# rate_bytes RATE - bytes per second of a tc rate such as 100mbit.
rate_bytes() {
	echo "$1" | awk '
	match($0, /^[0-9]+(\.[0-9]+)?/) {
		n = substr($0, 1, RLENGTH); u = substr($0, RLENGTH + 1)
		m["bit"] = 1 / 8; m["kbit"] = 1000 / 8; m["mbit"] = 1e6 / 8; m["gbit"] = 1e9 / 8
		m["bps"] = 1; m["kbps"] = 1000; m["mbps"] = 1e6; m["gbps"] = 1e9
		if (u in m) { printf "%d\n", n * m[u]; exit 0 }
	}
	{ exit 1 }'
}

# netem_ok - whether this kernel has the netem qdisc (built in or module).
netem_ok() {
	[ "${NETLAB_NETEM:-yes}" != no ] || return 1
	tc -n "$A" qdisc add dev "$IF_A" root handle 99: netem >/dev/null 2>&1 || return 1
	tc -n "$A" qdisc del dev "$IF_A" root >/dev/null 2>&1
	return 0
}

up() {
	rate="" loss="" mtu=1500
	while [ $# -gt 0 ]; do
		case "$1" in
		--rate) [ $# -ge 2 ] || die "--rate needs a value"; rate=$2; shift 2 ;;
		--loss) [ $# -ge 2 ] || die "--loss needs a value"; loss=$2; shift 2 ;;
		--mtu)  [ $# -ge 2 ] || die "--mtu needs a value"; mtu=$2; shift 2 ;;
		*) die "unknown option '$1' (see the top of $0)" ;;
		esac
	done
	need
	if [ -n "$loss" ]; then
		case "$loss" in ''|*[!0-9]*) die "--loss takes an integer percentage, 1-99" ;; esac
		[ "$loss" -ge 1 ] && [ "$loss" -le 99 ] || die "--loss takes an integer percentage, 1-99"
	fi
	case "$mtu" in ''|*[!0-9]*) die "--mtu takes a number of bytes" ;; esac
	if [ -n "$rate" ]; then
		command -v tc >/dev/null 2>&1 || die "tc is missing (Debian: apt-get install -y iproute2)"
		bps=$(rate_bytes "$rate") || die "--rate: '$rate' is not a rate like 100mbit, 1gbit or 500kbit"
		[ "$bps" -gt 0 ] || die "--rate must be above 0"
	fi

	if [ -f "$STATE" ]; then
		if ns_exists "$A" && ns_exists "$B"; then
			say "already up (run '$0 down' first to change it):"
			status
			return 0
		fi
		die "half up ($STATE exists, a namespace is missing); run '$0 down' first"
	fi
	for n in "$A" "$B"; do
		ns_exists "$n" && die "namespace $n exists and was not made by netlab; choose other names with NETLAB_A/NETLAB_B"
	done

	mkdir -p "$STATE_DIR" || die "cannot create $STATE_DIR"
	# Record first, so that a failure half-way is undone by `down`.
	printf 'A=%s\nB=%s\n' "$A" "$B" >"$STATE" || die "cannot write $STATE"
	trap 'echo "netlab: setting up failed; undoing" >&2; down >/dev/null 2>&1' EXIT
	set -e
	ip netns add "$A"
	ip netns add "$B"
	ip link add "$IF_A" netns "$A" mtu "$mtu" type veth peer name "$IF_B" netns "$B" mtu "$mtu"
	ip -n "$A" addr add "$ADDR_A/30" dev "$IF_A"
	ip -n "$B" addr add "$ADDR_B/30" dev "$IF_B"
	for n in "$A" "$B"; do ip -n "$n" link set lo up; done
	# Wire-sized packets, as on a real link: without this TCP hands veth
	# 64 KiB GSO packets, and "2 % loss" would drop 2 % of those.
	ip -n "$A" link set "$IF_A" gso_max_segs 1
	ip -n "$B" link set "$IF_B" gso_max_segs 1
	ip -n "$A" link set "$IF_A" up
	ip -n "$B" link set "$IF_B" up
	set +e

	# Probed before tbf takes the root qdisc, which the probe needs.
	use_netem=no
	[ -n "$loss" ] && netem_ok && use_netem=yes

	parent="root"
	if [ -n "$rate" ]; then
		# tbf's bucket must hold at least one packet (else it drops every
		# packet) and about 10 ms at the rate (else timer granularity
		# caps the rate); GSO packets larger than it are split by tbf.
		burst=$((bps / 100))
		[ "$burst" -lt $((4 * mtu)) ] && burst=$((4 * mtu))
		for p in "$A:$IF_A" "$B:$IF_B"; do
			tc -n "${p%%:*}" qdisc add dev "${p#*:}" root handle 1: tbf rate "$rate" \
				burst "$burst" latency 50ms || die "tc tbf failed"
		done
		parent="parent 1:1"
		echo "RATE=$rate" >>"$STATE"
		say "rate limit $rate per direction (tbf, burst $burst bytes)"
	fi

	if [ -n "$loss" ]; then
		if [ $use_netem = yes ]; then
			for p in "$A:$IF_A" "$B:$IF_B"; do
				tc -n "${p%%:*}" qdisc add dev "${p#*:}" $parent handle 10: netem loss "$loss%" ||
					die "tc netem failed"
			done
			echo "LOSS=$loss netem" >>"$STATE"
			say "loss $loss % per direction (tc netem)"
		else
			if [ "${NETLAB_NETEM:-yes}" = no ]; then
				say "NETLAB_NETEM=no: loss with nftables"
			else
				say "this kernel has no netem qdisc (CONFIG_NET_SCH_NETEM is not set, or sch_netem is not loadable): loss with nftables instead"
			fi
			command -v nft >/dev/null 2>&1 || die "nft is missing (Debian: apt-get install -y nftables)"
			for n in "$A" "$B"; do
				ip netns exec "$n" nft -f - <<-EOF || die "nftables rule failed in $n"
				table inet $NFT_TABLE {
					chain input {
						type filter hook input priority 0; policy accept;
						numgen random mod 100 < $loss counter drop
					}
				}
				EOF
			done
			echo "LOSS=$loss nftables" >>"$STATE"
			say "loss $loss % per direction (nftables numgen in each namespace's input hook)"
		fi
	fi
	trap - EXIT
	say "up: $A $ADDR_A/30 ($IF_A) <-> $B $ADDR_B/30 ($IF_B), MTU $mtu"
}

# dropped NS IF - packets the loss rule or qdisc dropped in one namespace.
dropped() {
	if [ -n "$(ip netns exec "$1" nft list table inet $NFT_TABLE 2>/dev/null)" ]; then
		ip netns exec "$1" nft list table inet $NFT_TABLE 2>/dev/null |
			sed -n 's/.*counter packets \([0-9]*\).*/\1/p' | awk '{s += $1} END {print s + 0}'
	else
		tc -n "$1" -s qdisc show dev "$2" 2>/dev/null |
			sed -n 's/.*dropped \([0-9]*\).*/\1/p' | awk '{s += $1} END {print s + 0}'
	fi
}

status() {
	need
	if [ ! -f "$STATE" ]; then
		say "down"
		return 0
	fi
	say "up (record $STATE):"
	sed 's/^/  /' "$STATE"
	for p in "$A:$IF_A" "$B:$IF_B"; do
		n=${p%%:*} i=${p#*:}
		if ! ns_exists "$n"; then say "namespace $n is missing"; continue; fi
		echo "== $n"
		ip -n "$n" -br addr show dev "$i"
		tc -n "$n" qdisc show dev "$i" 2>/dev/null | sed 's/^/  /'
		echo "  dropped by the lab: $(dropped "$n" "$i") packets"
	done
}

down() {
	need
	if [ ! -f "$STATE" ]; then
		for n in "$A" "$B"; do
			ns_exists "$n" && say "namespace $n exists but netlab has no record of making it; left alone (ip netns del $n)"
		done
		say "down"
		return 0
	fi
	rc=0
	for n in $(sed -n 's/^[AB]=//p' "$STATE"); do
		ns_exists "$n" || continue
		pids=$(ip netns pids "$n" 2>/dev/null | tr '\n' ' ')
		if [ -n "$pids" ]; then
			# Not ours to kill: a namespace with processes would outlive
			# `ip netns del` anyway.
			echo "netlab: processes still run in $n (pids $pids); stop them, then run down again" >&2
			rc=1
			continue
		fi
		# The veth pair and the nftables table go with the namespace.
		ip netns del "$n" || rc=1
	done
	if [ $rc = 0 ]; then
		rm -f "$STATE"
		rmdir "$STATE_DIR" 2>/dev/null
		say "down"
	fi
	return $rc
}

cmd=${1:-}
[ $# -gt 0 ] && shift
case "$cmd" in
up)     up "$@" ;;
down)   [ $# = 0 ] || die "down takes no options"; down ;;
status) [ $# = 0 ] || die "status takes no options"; status ;;
*)      sed -n '2,/^set -u/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 2 ;;
esac
