/*
 * What every desk command shares: the invocation (`struct desk`), where its
 * settings come from, how a command's flags are parsed, the saved session
 * token, passwords, and reaching the server.
 *
 * Settings are looked up in a fixed order, first match wins:
 *   server URL  --server, FRONTDESK_SERVER, `server =` in desk.conf,
 *               tcp://127.0.0.1:7400
 *   desk code   --desk, FRONTDESK_DESK, `desk =` in desk.conf
 *   TLS CA      --tls-ca, FRONTDESK_TLS_CA, `tls_ca =` in desk.conf
 *   token       FRONTDESK_TOKEN, the session file
 *   password    --password-stdin, FRONTDESK_PASSWORD (FRONTDESK_NEW_PASSWORD
 *               for new ones), a prompt on /dev/tty without echo
 * desk.conf and the session file live in $XDG_CONFIG_HOME/frontdesk/ (or
 * ~/.config/frontdesk/). The session file is created 0600 in a 0700 folder.
 *
 * Conventions: a function returning int returns 0 to go on, or the exit
 * code the command should end with after it has printed why (so callers
 * write `if ((rc = step(...)) != 0) return rc;`). desk_parse_flags alone may
 * also return DESK_GO. Single-threaded.
 */
#ifndef DESK_SETTINGS_H
#define DESK_SETTINGS_H

#include <protobuf-c/protobuf-c.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "frontdesk.h"

#define DESK_DEFAULT_SERVER "tcp://127.0.0.1:7400"
#define DESK_TOKEN_MAX 256
#define DESK_PASSWORD_MAX 1024
#define DESK_LIST_MAX 16

struct desk;

/* One command: `desk <noun> <verb>` or, for session verbs, `desk <verb>`
 * (noun NULL). */
struct desk_command {
	const char *noun;
	const char *verb;
	const char *args;    /* usage after the command words */
	const char *summary; /* one line for `desk --help` */
	const char *help;    /* paragraph for `desk <cmd> --help`; may be NULL */
	const char *action;  /* error prefix: "cannot add staff member" */
	const char *role;    /* role the server requires, for hints; or NULL */
	int (*run)(struct desk *d, int argc, char **argv);
};

/* The invocation: global flags, desk.conf, the command and its client. */
struct desk {
	/* Global flags, accepted before and after the command words. */
	const char *server_flag;
	const char *tls_ca_flag;
	int timeout_ms; /* 0: the client library's default */
	bool json;
	bool help;
	/* desk.conf (malloc'd, NULL when not set). */
	char *conf_server;
	char *conf_desk;
	char *conf_tls_ca;
	/* The command being run and, once connected, its client. */
	const struct desk_command *cmd;
	fd_client *client;
};

/* Reads desk.conf (warning on stderr about lines it cannot use). */
void desk_init(struct desk *d);
/* Closes the client and frees what desk_init and the commands kept. */
void desk_cleanup(struct desk *d);

/* --- flags ----------------------------------------------------------- */

/* desk_parse_flags's "parsed; carry on" (every other value is an exit). */
#define DESK_GO (-1)

enum desk_flag_type {
	DESK_FLAG_TEXT,   /* --name VALUE or --name=VALUE; target const char ** */
	DESK_FLAG_SWITCH, /* --name; target bool * */
	DESK_FLAG_LIST,   /* repeatable --name VALUE; target struct desk_list * */
};

struct desk_list {
	const char *items[DESK_LIST_MAX];
	size_t n;
};

struct desk_flag {
	const char *name;       /* without the dashes */
	enum desk_flag_type type;
	void *target;
	const char *value_name; /* "NAME" in the help; NULL for switches */
	const char *help;
};

/* Takes argv[*i] (and its value) when it is a global flag, advancing *i.
 * Returns 1 when taken, 0 when argv[*i] is not a global flag, or -1 after
 * writing the problem into err. */
int desk_take_global_flag(struct desk *d, int argc, char **argv, int *i,
			  char *err, size_t err_size);

/* Parses a command's arguments against `flags` (n of them), global flags
 * included. Prints the command's help and returns 0 when --help was given;
 * prints a usage error and returns 64 on an unknown flag, a missing value
 * or a stray word; else returns DESK_GO. */
int desk_parse_flags(struct desk *d, const struct desk_flag *flags, size_t n,
		     int argc, char **argv);

/* Prints "desk: <problem>", the command's usage line and where to read
 * more, on stderr (and a JSON error with --json). Returns 64. */
int desk_usage(struct desk *d, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/* A record id given on the command line: a positive integer. */
int desk_parse_id(struct desk *d, const char *flag, const char *text,
		  int64_t *id) __attribute__((warn_unused_result));
/* yes/no (also true/false, on/off, 1/0). */
int desk_parse_yes_no(struct desk *d, const char *flag, const char *text,
		      bool *value) __attribute__((warn_unused_result));

/* --- settings -------------------------------------------------------- */

const char *desk_server_url(const struct desk *d);
/* --desk, FRONTDESK_DESK or desk.conf; NULL when none is set. */
const char *desk_code(const struct desk *d, const char *flag_value);
/* Where the session token is saved (false when no home folder is known). */
bool desk_session_path(char *buf, size_t size);

/* --- reporting ------------------------------------------------------- */

/* Reports st for the running command (see desk_report) and returns the
 * exit code. */
int desk_fail(struct desk *d, const fd_status *st);
/* Same for a failure found by the desk itself. */
int desk_fail_local(struct desk *d, int code, const char *hint,
		    const char *fmt, ...) __attribute__((format(printf, 4, 5)));

/* --- session token --------------------------------------------------- */

/* Loads the token from FRONTDESK_TOKEN or the session file into buf.
 * Returns false when there is none; *source says where it came from
 * ("FRONTDESK_TOKEN" or the file's path, a static buffer). */
bool desk_token_load(char *buf, size_t size, const char **source);
/* Writes the token to the session file (0600, folder 0700). */
int desk_token_save(struct desk *d, const char *token, char *path,
		    size_t path_size) __attribute__((warn_unused_result));
/* Removes the session file; true when it existed and is gone. */
bool desk_token_remove(void);

/* --- passwords ------------------------------------------------------- */

/* Reads a password: one line of stdin when from_stdin, else the
 * environment variable env_name when set, else a prompt on /dev/tty
 * without echo (asked twice when confirm). The caller wipes buf with
 * sodium_memzero after use. */
int desk_read_password(struct desk *d, bool from_stdin, const char *env_name,
		       const char *prompt, bool confirm, char *buf,
		       size_t size) __attribute__((warn_unused_result));

/* --- the server ------------------------------------------------------ */

/* Dials the server. With `session`, also loads the saved token and fails
 * with "not logged in" (exit 77) when there is none. */
int desk_connect(struct desk *d, bool session)
	__attribute__((warn_unused_result));

/* Calls `method` of service `svc` (the method is looked up by name in the
 * generated descriptor, which also gives the reply type). On success *reply
 * is the caller's (protobuf_c_message_free_unpacked(*reply, NULL)); on
 * failure the error has been reported and its exit code is returned. */
int desk_call(struct desk *d, const ProtobufCServiceDescriptor *svc,
	      const char *method, const ProtobufCMessage *request,
	      ProtobufCMessage **reply) __attribute__((warn_unused_result));
/* Same, without reporting: returns the status code and fills st. */
int desk_call_quiet(struct desk *d, const ProtobufCServiceDescriptor *svc,
		    const char *method, const ProtobufCMessage *request,
		    ProtobufCMessage **reply, fd_status *st);

/* --- the commands (cmd_session.c, cmd_admin.c) ----------------------- */

int cmd_ping(struct desk *d, int argc, char **argv);
int cmd_login(struct desk *d, int argc, char **argv);
int cmd_logout(struct desk *d, int argc, char **argv);
int cmd_whoami(struct desk *d, int argc, char **argv);
int cmd_staff_add(struct desk *d, int argc, char **argv);
int cmd_staff_list(struct desk *d, int argc, char **argv);
int cmd_staff_update(struct desk *d, int argc, char **argv);
int cmd_staff_reset_password(struct desk *d, int argc, char **argv);
int cmd_staff_unlock(struct desk *d, int argc, char **argv);
int cmd_desks_add(struct desk *d, int argc, char **argv);
int cmd_desks_list(struct desk *d, int argc, char **argv);

/* Prints `desk <noun> <verb> <args>` for a command (no newline). */
void desk_print_command(FILE *out, const struct desk_command *cmd);

#endif
