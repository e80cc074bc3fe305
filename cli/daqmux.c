/*
 * main.c - bin/daqmux: one binary, one subcommand per job.
 */
#include <stdio.h>
#include <string.h>

#include "server_main.h"
#include "client.h"
#include "compare.h"

static void usage(FILE *f)
{
	fprintf(f,
"usage: daqmux COMMAND [options]   (daqmux COMMAND --help for each)\n"
"\n"
"How should a program read many sockets at once? daqmux answers with\n"
"measurements: one wire protocol, one test client, six server backends.\n"
"\n"
"  server     read N DAQ sources with one backend and report what arrived\n"
"  client     stream DAQ frames from N sources (paced, silent, faulty, ...)\n"
"  backends   list the backends and whether each can run on this machine\n"
"  compare    run every backend through the same scenarios; write a report\n"
"\n"
"example, the blocked-on-sockfd_0 demonstration:\n"
"  daqmux server --backend blocking --sources 4 &\n"
"  daqmux client --sources 4 --rate 1000 --count 2000 --silent 0:1\n");
}

int main(int argc, char **argv)
{
	if (argc < 2) {
		usage(stderr);
		return 2;
	}
	const char *cmd = argv[1];
	if (strcmp(cmd, "server") == 0)
		return server_main(argc - 1, argv + 1);
	if (strcmp(cmd, "client") == 0)
		return client_main(argc - 1, argv + 1);
	if (strcmp(cmd, "backends") == 0)
		return backends_main(argc - 1, argv + 1);
	if (strcmp(cmd, "compare") == 0)
		return compare_main(argc - 1, argv + 1);
	if (strcmp(cmd, "-h") == 0 || strcmp(cmd, "--help") == 0 || strcmp(cmd, "help") == 0) {
		usage(stdout);
		return 0;
	}
	fprintf(stderr, "daqmux: unknown command '%s'\n", cmd);
	usage(stderr);
	return 2;
}
