/*
 * What every fuzz target shares: the server's configuration (defaults only)
 * and method table set up once, as frontdeskd does at start-up, with the
 * per-call log line silenced (it is noise at a million calls a minute).
 * Targets abort when set-up fails: fuzzing a half-built table proves nothing.
 */
#ifndef FD_FUZZ_COMMON_H
#define FD_FUZZ_COMMON_H

#include <stdio.h>
#include <stdlib.h>

#include "config.h"
#include "log.h"
#include "methods.h"
#include "util.h"

static inline void fuzz_setup_server_tables(void)
{
	char err[128];
	int argc;
	char **rest;
	char *argv[] = {"fuzz", NULL};

	if (config_load(1, argv, &argc, &rest, err, sizeof err) != 0) {
		fprintf(stderr, "fuzz: config_load failed: %s\n", err);
		abort();
	}
	if (methods_init() != 0 || fd_random_init() != 0) {
		fprintf(stderr, "fuzz: methods_init or fd_random_init failed\n");
		abort();
	}
	fd_log_level_current = FD_LOG_ERROR;
}

#endif
