/* compare.h - `daqmux compare`: every backend, the same scenarios, one report. */
#ifndef DAQMUX_COMPARE_H
#define DAQMUX_COMPARE_H

int compare_main(int argc, char **argv);

#endif
