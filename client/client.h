/*
 * client.h - the daqmux test client: N DAQ sources over TCP.
 *
 * `daqmux client --help` lists the options; the short version:
 *   daqmux server --backend epoll --listen 127.0.0.1:5555 --sources 4 &
 *   daqmux client --connect 127.0.0.1:5555 --sources 4 --rate 1000 --count 2000
 */
#ifndef DAQMUX_CLIENT_H
#define DAQMUX_CLIENT_H

/* argv[0] is "client". Returns the exit status: 0 everything was sent as
 * asked, 1 a failure during the run, 2 bad usage. */
int client_main(int argc, char **argv);

#endif
