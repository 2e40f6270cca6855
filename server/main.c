/*
 * frontdeskd: the Frontdesk server and its admin commands.
 *
 *   frontdeskd [serve]                   run the server
 *   frontdeskd migrate up|status|verify  manage the database schema
 *   frontdeskd create-admin --user NAME  create the first admin
 *   frontdeskd seed-demo                 load the demo clinic
 *   frontdeskd audit seal|verify         link / check the audit hash chain
 *   frontdeskd config                    print the configuration table
 *
 * Settings come from --config FILE, FRONTDESK_* variables and --flags (see
 * config.h and docs/configuration.md).
 */
#include <nng/nng.h>
#include <stdio.h>
#include <string.h>
#include <sysexits.h>

#include "config.h"
#include "log.h"
#include "migrate.h"
#include "server.h"
#include "util.h"
#include "version.h"

static void usage(FILE *f)
{
	fprintf(f,
		"usage: frontdeskd [--config FILE] [--SETTING=VALUE ...] [COMMAND]\n"
		"commands:\n"
		"  serve                      run the server (the default)\n"
		"  migrate up|status|verify   apply, list or check database migrations\n"
		"  create-admin --user NAME   create an admin account (password from\n"
		"                             FRONTDESK_PASSWORD, --password-stdin or a prompt)\n"
		"  seed-demo                  load the demo clinic (idempotent)\n"
		"  audit seal|verify          link new audit rows into the hash chain, or\n"
		"                             recompute it (exit 65 at the first bad row)\n"
		"  config                     list every setting with its current value\n"
		"  --version, --help\n"
		"settings: see `frontdeskd config` and docs/configuration.md\n");
}

static int print_config(void)
{
	for (int i = 0; i < CFG_COUNT; i++) {
		const struct fd_config_item *it = &fd_config_items[i];
		if (it->type == CFG_TYPE_INT)
			printf("%-26s = %d\n", it->name, cfg_int((enum fd_config_id)i));
		else
			printf("%-26s = %s\n", it->name, cfg_str((enum fd_config_id)i));
		printf("    %s%s\n", it->help, it->reloadable ? " (reloaded on SIGHUP)" : "");
	}
	return 0;
}

int main(int argc, char **argv)
{
	char err[512];
	int rest_argc, rc;
	char **rest;

	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
			/* Subcommands answer their own --help. */
			if (i == 1) {
				usage(stdout);
				return 0;
			}
		}
		if (strcmp(argv[i], "--version") == 0) {
			printf("frontdeskd %s (api %d, schema %d)\n", FD_SERVER_VERSION,
			       FD_API_VERSION, FD_SCHEMA_VERSION);
			return 0;
		}
	}
	if (config_load(argc, argv, &rest_argc, &rest, err, sizeof err) != 0) {
		fprintf(stderr, "frontdeskd: %s\n", err);
		return EX_CONFIG;
	}
	if (fd_random_init() != 0) {
		fprintf(stderr, "frontdeskd: cannot initialise libsodium\n");
		return EX_SOFTWARE;
	}
	if (rest_argc == 0 || strcmp(rest[0], "serve") == 0)
		rc = server_serve();
	else if (strcmp(rest[0], "migrate") == 0)
		rc = migrate_command(rest_argc, rest, cfg_str(CFG_DB));
	else if (strcmp(rest[0], "create-admin") == 0)
		rc = admin_create_admin(rest_argc, rest);
	else if (strcmp(rest[0], "seed-demo") == 0)
		rc = admin_seed_demo(rest_argc, rest);
	else if (strcmp(rest[0], "audit") == 0)
		rc = admin_audit(rest_argc, rest);
	else if (strcmp(rest[0], "config") == 0)
		rc = print_config();
	else {
		fprintf(stderr, "frontdeskd: unknown command '%s'\n", rest[0]);
		usage(stderr);
		rc = EX_USAGE;
	}
	config_free();
	/* Joins nng's own threads (its name resolver's among them), so their
	 * thread-local state is released too and valgrind runs of the suite
	 * see every byte of the server freed. */
	nng_fini();
	return rc;
}
