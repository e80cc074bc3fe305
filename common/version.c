/* version.c - the version the build gives (-DDAQMUX_VERSION="..."), so
 * that an installed binary knows it without git; "unknown" otherwise. */
#include "util.h"

#ifndef DAQMUX_VERSION
#define DAQMUX_VERSION "unknown"
#endif

const char *daqmux_version(void)
{
	return DAQMUX_VERSION;
}
