#!/bin/sh
# tools/check-layers.sh - refuse includes that could reach up a layer.
# Each layer compiles with its own include paths (see the Makefile), so
# `#include "client.h"` in common/ does not compile. A path in an include
# ("../client/client.h", "client/client.h") would get round that: none is
# allowed. Headers are found by name through the layer's include paths.
cd "$(dirname "$0")/.." || exit 2
bad=$(grep -nE '^[[:space:]]*#[[:space:]]*include[[:space:]]*"[^"]*/' \
	common/*.[ch] blocking/*.[ch] select/*.[ch] poll/*.[ch] epoll/*.[ch] \
	threads/*.[ch] uring/*.[ch] server/*.[ch] client/*.[ch] harness/*.[ch] \
	compare/*.[ch] cli/*.[ch] tests/*.[ch] 2>/dev/null)
if [ -n "$bad" ]; then
	echo "check-layers: an include names a path; include by name through the layer's include paths (Makefile inc_*):" >&2
	echo "$bad" >&2
	exit 1
fi
exit 0
