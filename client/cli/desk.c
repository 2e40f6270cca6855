/*
 * `desk`: the scriptable Frontdesk command line.
 *
 *   desk [global flags] <noun> <verb> [flags]     desk staff list --all
 *   desk [global flags] <verb> [flags]            desk login --user ada
 *
 * This file holds the command table and finds the command in argv; global
 * flags (--server, --json, --timeout, --tls-ca, --help) are taken wherever
 * they appear, here before the command words and by desk_parse_flags after
 * them. Each command lives in cmd_*.c, shared plumbing in settings.c and
 * all printing in output.c. Exit codes are sysexits.h (see output.h and
 * docs/desk.md).
 */
#include <nng/nng.h>
#include <stdio.h>
#include <string.h>
#include <sysexits.h>

#include "output.h"
#include "settings.h"

#define countof(a) (sizeof(a) / sizeof((a)[0]))

/* Domains add their commands as DESK_COMMAND rows in cmd_<domain>.def
 * (listed in commands.def) next to their cmd_<domain>.c, so adding a
 * domain never edits this table. */
#define DESK_COMMAND(noun, verb, args, summary, help, action, role, fn) \
	int fn(struct desk *d, int argc, char **argv);
#include "commands.def"
#undef DESK_COMMAND

static const struct desk_command commands[] = {
	{ NULL, "ping", "", "Check that the server answers, and show its version",
	  "Needs no login. Exits 0 whenever the server answers, even with its\n"
	  "database down (shown as `database down`).",
	  "cannot ping the server", NULL, cmd_ping },
	{ NULL, "login", "--user NAME --desk CODE [--password-stdin]",
	  "Start a session at this desk and save its token",
	  "The password comes from --password-stdin, else FRONTDESK_PASSWORD,\n"
	  "else a prompt on the terminal. The token is saved to\n"
	  "$XDG_CONFIG_HOME/frontdesk/session (~/.config/frontdesk/session),\n"
	  "readable only by you.",
	  "cannot log in", NULL, cmd_login },
	{ NULL, "logout", "", "End the session and remove the saved token",
	  "A session the server had already ended is removed all the same.",
	  "cannot log out", NULL, cmd_logout },
	{ NULL, "whoami", "", "Show who is logged in, at which desk, until when",
	  NULL, "cannot look up the session", NULL, cmd_whoami },
	{ "staff", "add",
	  "--user NAME --name TEXT --role ROLE [--role ROLE]... [--password-stdin]",
	  "Create a staff account",
	  "The new password comes from --password-stdin, else\n"
	  "FRONTDESK_NEW_PASSWORD, else a prompt (typed twice).",
	  "cannot add staff member", "admin", cmd_staff_add },
	{ "staff", "list", "[--all]", "List staff accounts", NULL,
	  "cannot list staff", "admin", cmd_staff_list },
	{ "staff", "update",
	  "--id N [--name TEXT] [--role ROLE]... [--active yes|no]",
	  "Change a staff account",
	  "Roles given replace all current roles. --active no ends the\n"
	  "person's ability to log in without deleting anything.",
	  "cannot update staff member", "admin", cmd_staff_update },
	{ "staff", "reset-password", "--id N [--password-stdin]",
	  "Set a new password for a staff account",
	  "The new password comes from --password-stdin, else\n"
	  "FRONTDESK_NEW_PASSWORD, else a prompt (typed twice).",
	  "cannot reset the password", "admin", cmd_staff_reset_password },
	{ "staff", "unlock", "--id N",
	  "Lift the lock after too many failed logins", NULL,
	  "cannot unlock staff member", "admin", cmd_staff_unlock },
	{ "desks", "add", "--code CODE --name TEXT [--location CODE]",
	  "Register a desk staff can log in at", NULL, "cannot add desk",
	  "admin", cmd_desks_add },
	{ "desks", "list", "", "List the desks", NULL, "cannot list desks",
	  "admin", cmd_desks_list },
#define DESK_COMMAND(noun, verb, args, summary, help, action, role, fn) \
	{ noun, verb, args, summary, help, action, role, fn },
#include "commands.def"
#undef DESK_COMMAND
};

static bool is_noun(const char *word)
{
	for (size_t i = 0; i < countof(commands); i++)
		if (commands[i].noun && strcmp(commands[i].noun, word) == 0)
			return true;
	return false;
}

static const struct desk_command *find_command(const char *noun,
					       const char *verb)
{
	for (size_t i = 0; i < countof(commands); i++) {
		const struct desk_command *c = &commands[i];
		if (((!c->noun && !noun) ||
		     (c->noun && noun && strcmp(c->noun, noun) == 0)) &&
		    strcmp(c->verb, verb) == 0)
			return c;
	}
	return NULL;
}

/* Lists the commands (all, or one noun's) with their summaries. */
static void print_commands(FILE *out, const char *noun)
{
	for (size_t i = 0; i < countof(commands); i++) {
		const struct desk_command *c = &commands[i];
		char words[48];

		if (noun && (!c->noun || strcmp(c->noun, noun) != 0))
			continue;
		/* A noun's default command shows its first argument instead. */
		const char *verb = *c->verb ? c->verb : c->args;
		int verb_len = (int)strcspn(verb, " ");
		snprintf(words, sizeof words, "%s%s%.*s", c->noun ? c->noun : "",
			 c->noun ? " " : "", verb_len, verb);
		fprintf(out, "  desk %-22s %s\n", words, c->summary);
	}
}

static void print_help(void)
{
	fputs("usage: desk [global flags] <command> [flags]\n\n"
	      "The Frontdesk command line: sessions, staff and desks.\n\n"
	      "commands:\n",
	      stdout);
	print_commands(stdout, NULL);
	fputs("\nglobal flags (before or after the command):\n"
	      "  --server URL    server to call: tcp://HOST:PORT, ipc:///PATH or\n"
	      "                  tls+tcp://HOST:PORT (default " DESK_DEFAULT_SERVER ")\n"
	      "  --json          print one JSON object on stdout (errors too)\n"
	      "  --timeout MS    give up on a call after MS milliseconds (default 10000)\n"
	      "  --tls-ca FILE   CA certificate that signed the server's (tls+tcp://)\n"
	      "  -h, --help      help; `desk <command> --help` for a command's flags\n"
	      "\nenvironment:\n"
	      "  FRONTDESK_SERVER        server URL (below --server)\n"
	      "  FRONTDESK_TOKEN         session token, used instead of the saved session\n"
	      "  FRONTDESK_DESK          desk code for `desk login`\n"
	      "  FRONTDESK_PASSWORD      password for `desk login`\n"
	      "  FRONTDESK_NEW_PASSWORD  new password for `staff add` / `reset-password`\n"
	      "  FRONTDESK_TLS_CA        CA file (below --tls-ca)\n"
	      "  XDG_CONFIG_HOME         where frontdesk/desk.conf and frontdesk/session live\n"
	      "                          (default ~/.config)\n"
	      "\nexit codes: 0 ok, 64 usage, 65 bad data, 66 not found, 69 server\n"
	      "unavailable, 70 internal, 73 cannot save the session, 75 try again,\n"
	      "77 not logged in or not allowed.\n",
	      stdout);
}

/* `desk staff` with no verb, or `desk staff --help`. */
static int noun_help(struct desk *d, const char *noun)
{
	FILE *out = d->help ? stdout : stderr;

	if (!d->help)
		fprintf(out, "desk: `desk %s` needs a command:\n", noun);
	else
		fprintf(out, "usage: desk %s <command> [flags]\n\n", noun);
	print_commands(out, noun);
	fprintf(out, "run `desk %s <command> --help` for its flags\n", noun);
	return d->help ? EX_OK : EX_USAGE;
}

/* Takes global flags from argv[*i] on until the next word; returns 0, or
 * an exit code after a usage error. */
static int skip_global_flags(struct desk *d, int argc, char **argv, int *i)
{
	char err[256];

	while (*i < argc && argv[*i][0] == '-') {
		int g = desk_take_global_flag(d, argc, argv, i, err, sizeof err);
		if (g < 0)
			return desk_usage(d, "%s", err);
		if (g == 0)
			return desk_usage(d, "unknown flag %s before the command",
					  argv[*i]);
	}
	return 0;
}

static int run(struct desk *d, int argc, char **argv)
{
	const char *noun = NULL, *verb;
	int i = 1, rc;

	if ((rc = skip_global_flags(d, argc, argv, &i)) != 0)
		return rc;
	if (i >= argc || strcmp(argv[i], "help") == 0) {
		if (d->help || i < argc) {
			print_help();
			return EX_OK;
		}
		return desk_usage(d, "no command given");
	}
	verb = argv[i++];
	if (is_noun(verb)) {
		noun = verb;
		if ((rc = skip_global_flags(d, argc, argv, &i)) != 0)
			return rc;
		if (i >= argc)
			return noun_help(d, noun);
		verb = argv[i++];
	}
	/* A noun's default command (empty verb) takes the word as its first
	 * argument: `desk room 42 --room R` is the spelling of
	 * `desk visit room 42 --room R`. */
	if (noun && !find_command(noun, verb) && (d->cmd = find_command(noun, "")))
		return d->cmd->run(d, argc - i + 1, argv + i - 1);
	if (!(d->cmd = find_command(noun, verb))) {
		if (noun)
			return desk_usage(d, "`desk %s` has no command '%s'; "
					     "run `desk %s --help`",
					  noun, verb, noun);
		return desk_usage(d, "unknown command '%s'", verb);
	}
	return d->cmd->run(d, argc - i, argv + i);
}

int main(int argc, char **argv)
{
	struct desk d;
	int rc;

	desk_init(&d);
	rc = run(&d, argc, argv);
	desk_cleanup(&d);
	/* Stops nng's worker threads, so valgrind runs of the test suite see
	 * every byte released. */
	nng_fini();
	if (fflush(stdout) != 0 && rc == EX_OK)
		rc = EX_IOERR;
	return rc;
}
