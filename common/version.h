/*
 * version.h - the version of this build, fixed when it was compiled.
 */
#ifndef DAQMUX_VERSION_H
#define DAQMUX_VERSION_H

/* "0.2.0" from the VERSION file, or `git describe` of the checkout it was
 * built from ("0.2.0-g3548291-dirty"): see tools/version.sh. */
const char *daqmux_version(void);

#endif
