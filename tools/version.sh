#!/bin/sh
# tools/version.sh - the version a build is stamped with (daqmux --version).
# In a git checkout of this tree: `git describe --always --dirty`; a tag
# vX.Y.Z gives "X.Y.Z[-N-gHASH][-dirty]", with no tag it is the VERSION
# file's version plus the commit, "0.2.0-gHASH[-dirty]". Anywhere else
# (a release tarball, no git): the VERSION file alone.
cd "$(dirname "$0")/.." || exit 2
v=$(sed -n '1{s/[^A-Za-z0-9._+-]//g;p;}' VERSION 2>/dev/null)
[ -n "$v" ] || v=unknown
top=$(git rev-parse --show-toplevel 2>/dev/null) &&
	[ "$top" = "$(pwd -P)" ] &&
	d=$(git describe --always --dirty --tags --match 'v[0-9]*' 2>/dev/null) &&
	case $d in
	v[0-9]*) v=${d#v} ;;
	*) v="$v-g$d" ;;
	esac
printf '%s\n' "$v" | sed 's/[^A-Za-z0-9._+-]//g'
