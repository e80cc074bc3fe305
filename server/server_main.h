/*
 * server_main.h - the `daqmux server` and `daqmux backends` subcommands.
 */
#ifndef DAQMUX_SERVER_MAIN_H
#define DAQMUX_SERVER_MAIN_H

int server_main(int argc, char **argv);
int backends_main(int argc, char **argv);

#endif
