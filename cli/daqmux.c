/*
 * daqmux.c - bin/daqmux: one binary, one subcommand per job. The entry
 * point sits above every layer; each subcommand parses its own options
 * with the convention of common/util.h (-h/--help everywhere, exit 2 with
 * the option and its range named).
 */
#include <stdio.h>
#include <string.h>

#include "client.h"
#include "compare.h"
#include "server_main.h"
#include "version.h"

static const struct command {
	const char *name;
	int (*main)(int argc, char **argv);
	const char *what;
} commands[] = {
	{ "server",   server_main,   "read N DAQ sources with one backend and report what arrived" },
	{ "client",   client_main,   "stream DAQ frames from N sources (paced, silent, faulty, ...)" },
	{ "backends", backends_main, "list the backends and whether each can run on this machine" },
	{ "compare",  compare_main,  "run every backend through the same scenarios; write a report" },
};

static void usage(FILE *f)
{
	fprintf(f,
"usage: daqmux COMMAND [options]   (daqmux COMMAND --help for each)\n"
"       daqmux --version | --help\n"
"\n"
"How should a program read many sockets at once? daqmux answers with\n"
"measurements: one wire protocol, one test client, six server backends.\n"
"\n");
	for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
		fprintf(f, "  %-10s %s\n", commands[i].name, commands[i].what);
	fprintf(f,
"  version    print the version this binary was built as\n"
"\n"
"example, the blocked-on-sockfd_0 demonstration:\n"
"  daqmux server --backend blocking --sources 4 &\n"
"  daqmux client --sources 4 --rate 1000 --count 2000 --silent 0:1\n"
"\n"
"Exit status 2 means bad usage, for every command; man daqmux has the rest.\n");
}

static const struct command *find(const char *name)
{
	for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
		if (strcmp(commands[i].name, name) == 0)
			return &commands[i];
	return NULL;
}

int main(int argc, char **argv)
{
	if (argc < 2) {
		usage(stderr);
		return 2;
	}
	const char *cmd = argv[1];
	const struct command *c = find(cmd);
	if (c)
		return c->main(argc - 1, argv + 1);
	if (strcmp(cmd, "--version") == 0 || strcmp(cmd, "-V") == 0 ||
	    strcmp(cmd, "version") == 0) {
		if (argc > 2) {
			fprintf(stderr, "daqmux: unexpected argument '%s' after %s\n", argv[2], cmd);
			return 2;
		}
		printf("daqmux %s\n", daqmux_version());
		return 0;
	}
	if (strcmp(cmd, "-h") == 0 || strcmp(cmd, "--help") == 0 || strcmp(cmd, "help") == 0) {
		/* `daqmux help server` is `daqmux server --help`. */
		if (argc > 2 && (c = find(argv[2])) != NULL) {
			char *args[] = { argv[2], "--help", NULL };
			return c->main(2, args);
		}
		if (argc > 2) {
			fprintf(stderr, "daqmux: unknown command '%s'\n", argv[2]);
			usage(stderr);
			return 2;
		}
		usage(stdout);
		return 0;
	}
	fprintf(stderr, "daqmux: unknown command '%s'\n", cmd);
	usage(stderr);
	return 2;
}
