/* cli.h - `bottle-verify watch`: its command line, set-up, confinement and stream.
 * main() hands over the whole argv when the command is watch: it has options of its own
 * (--interval, --duration, --stop-on-finding, ...) and prints as it goes, not at the end. */
#ifndef BV_VERIFY_WATCH_CLI_H
#define BV_VERIFY_WATCH_CLI_H

#include <stdbool.h>

/* Is argv's command (its first argument that is not an option or --format's value) watch? */
bool watch_is_command(int argc, char **argv);
/* Run it; returns the exit status: 0 clean, 1 a finding, 2 error or inconclusive. */
int watch_main(int argc, char **argv);

#endif
