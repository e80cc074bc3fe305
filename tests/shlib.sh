# tests/shlib.sh - sourced by the shell tests (tests/test_*.sh). A shell test
# is one test: it ends with sh_pass, sh_fail REASON or sh_skip REASON, which
# print the cmocka-style summary line that tools/run-tests.sh counts. Every
# process a test starts goes through sh_bg, so that the exit trap ends
# exactly those (by pid) and nothing is left behind.
# shellcheck shell=sh

cd "$(dirname "$0")/.." || exit 1   # paths below are relative to the repository
DAQMUX=${DAQMUX:-bin/daqmux}
sh_name=$(basename "$0" .sh)
sh_pids=""
sh_on_exit=""          # extra cleanup command, run after the processes are gone
sh_tmp=$(mktemp -d "${TMPDIR:-/tmp}/$sh_name.XXXXXX") || exit 1

sh_cleanup() {
	for p in $sh_pids; do
		kill "$p" 2>/dev/null && wait "$p" 2>/dev/null
	done
	sh_pids=""
	[ -n "$sh_on_exit" ] && eval "$sh_on_exit"
	rm -rf "$sh_tmp"
}
trap sh_cleanup EXIT
trap 'exit 130' INT TERM HUP

# sh_bg OUT CMD... - start CMD in the background, stdout+stderr to OUT;
# its pid is in $sh_last.
sh_bg() {
	out=$1; shift
	"$@" >"$out" 2>&1 &
	sh_last=$!
	sh_pids="$sh_pids $sh_last"
}

# sh_wait PID - wait for a process started by sh_bg; its exit status is the
# return value, and the exit trap no longer needs to end it.
sh_wait() {
	wait "$1"
	rc=$?
	sh_pids=$(echo "$sh_pids" | tr ' ' '\n' | grep -vx "$1" | tr '\n' ' ')
	return $rc
}

# sh_wait_for FILE REGEX [SECONDS] - wait until a line of FILE matches.
sh_wait_for() {
	i=0
	while ! grep -q "$2" "$1" 2>/dev/null; do
		i=$((i + 1))
		[ $i -gt $((${3:-10} * 10)) ] && return 1
		sleep 0.1
	done
}

# sh_listen_addr FILE - the HOST:PORT a daqmux server printed ("listening on").
sh_listen_addr() {
	sh_wait_for "$1" '^listening on ' 10 || return 1
	sed -n 's/^listening on //p' "$1" | head -n 1
}

# sh_json_num FILE KEY - the first top-level-looking "KEY": NUMBER of a
# daqmux JSON summary (its keys are unique enough for the fields used here).
sh_json_num() {
	sed -n "s/^ *\"$2\": *\([0-9][0-9]*\).*/\1/p" "$1" | head -n 1
}

sh_pass() {
	echo "[  PASSED  ] 1 test(s)."
	exit 0
}
sh_fail() {
	echo "$sh_name: FAILED: $*"
	echo "[  FAILED  ] 1 test(s), listed below:"
	echo "[  FAILED  ] $sh_name"
	exit 1
}
sh_skip() {
	echo "SKIPPED: $*"
	echo "[  SKIPPED ] 1 test(s), listed below:"
	echo "[  SKIPPED ] $sh_name"
	exit 0
}
sh_need_root() {
	[ "$(id -u)" = 0 ] || sh_skip "$1 needs root"
}
sh_need_cmd() { # sh_need_cmd CMD PACKAGE
	command -v "$1" >/dev/null 2>&1 ||
		sh_skip "$1 is missing (Debian: apt-get install -y $2, or tools/deps.sh test as root)"
}
