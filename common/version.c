/*
 * version.c - the version fixed at build time. The Makefile compiles this
 * file with -DDAQMUX_VERSION="..." from tools/version.sh and recompiles it
 * whenever that changes, so an installed binary knows its version without
 * looking at the tree it came from.
 */
#include "version.h"

#ifndef DAQMUX_VERSION
#error "DAQMUX_VERSION comes from the Makefile (tools/version.sh)"
#endif

const char *daqmux_version(void)
{
	return DAQMUX_VERSION;
}
