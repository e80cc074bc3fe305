#!/bin/sh
# tools/deps.sh GROUP... - make sure the Debian packages a build step needs
# are present: install them when we are root with apt-get, otherwise stop
# and print the exact command. Called by the Makefile; safe to run by hand.
#   build    pkg-config; optional: liburing-dev, libuv1-dev, libevent-dev,
#            libglib2.0-dev (the uring, libuv, libevent and glib backends)
#   test     libcmocka-dev; tshark, tcpdump (dissector test), iproute2,
#            nftables (netlab test) are optional: those tests skip without
#   compare  gnuplot-nox (plots), sockperf (reference RTT; optional)
#   fuzz     clang, libclang-rt-14-dev (libFuzzer)
set -u

need=""      # missing and required
want=""      # missing and optional

has_pkg() { dpkg-query -W -f='${Status}' "$1" 2>/dev/null | grep -q "ok installed"; }
add() { # add REQUIRED|OPTIONAL PACKAGE
	has_pkg "$2" && return 0
	if [ "$1" = required ]; then need="$need $2"; else want="$want $2"; fi
}

for g in "$@"; do
	case "$g" in
	build)   add required pkg-config; add optional liburing-dev; add optional libuv1-dev
	         add optional libevent-dev; add optional libglib2.0-dev ;;
	test)    add required pkg-config; add required libcmocka-dev
	         add optional tshark; add optional tcpdump
	         add optional iproute2; add optional nftables ;;
	compare) add optional gnuplot-nox; add optional sockperf ;;
	fuzz)    add required clang; add required libclang-rt-14-dev ;;
	*) echo "deps.sh: unknown group '$g'" >&2; exit 2 ;;
	esac
done

missing="$need$want"
[ -z "$missing" ] && exit 0
command -v dpkg-query >/dev/null 2>&1 || {
	# Not Debian: say what is needed and let the build find out.
	echo "deps.sh: not a Debian system; make sure these are installed:$missing" >&2
	exit 0
}

if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
	echo "  APT     $missing"
	export DEBIAN_FRONTEND=noninteractive
	# A fresh machine has no package lists yet; update once and retry.
	apt-get install -y -qq --no-install-recommends $missing >/dev/null 2>&1 ||
	{ apt-get update -qq >/dev/null 2>&1 &&
	  apt-get install -y -qq --no-install-recommends $missing >/dev/null 2>&1; } ||
	{ # Optional packages may be missing from the archive; retry without them.
	  [ -n "$need" ] && apt-get install -y -qq --no-install-recommends $need >/dev/null 2>&1; } || true
fi

still=""
for p in $need; do has_pkg "$p" || still="$still $p"; done
if [ -n "$still" ]; then
	echo "deps.sh: missing Debian packages:$still" >&2
	echo "         install them with:  sudo apt-get install -y$still" >&2
	exit 1
fi
for p in $want; do
	has_pkg "$p" || echo "deps.sh: optional package $p is missing (sudo apt-get install -y $p); building without it" >&2
done
exit 0
