/*
 * server_main.h - the `daqmux server` and `daqmux backends` subcommands.
 */
#ifndef DAQMUX_SERVER_MAIN_H
#define DAQMUX_SERVER_MAIN_H

struct server_opts;

/* argv[0] is the subcommand's name. Each returns its exit status. */
int server_main(int argc, char **argv);
int backends_main(int argc, char **argv);

/* The option parsers behind them (util.h's convention): OPTS_RUN,
 * OPTS_HELP after printing --help, OPTS_BAD after saying what is wrong.
 * server_opts_parse also checks that --json and --trace can be written. */
int server_opts_parse(struct server_opts *o, int argc, char **argv);
int backends_opts_parse(int argc, char **argv);

#endif
