/*
 * Server configuration as one declarative table (name, type, default,
 * whether SIGHUP reloads it, environment variable, help), after pgbouncer's
 * CF_ABS table. Values come from, in rising precedence: the defaults, the
 * config file (`name = value` lines), FRONTDESK_* environment variables, and
 * command-line flags (`--name=value`). docs/configuration.md is checked
 * against this table by a test, so the two cannot drift.
 *
 * Threads: config_load and config_reload run on the main (loop) thread.
 * Integer values are read with cfg_int() from any thread; reloadable ones may
 * change under a reader, which then sees either the old or the new value.
 * Strings are fixed after config_load (none of them is reloadable).
 */
#ifndef FD_CONFIG_H
#define FD_CONFIG_H

#include <stdbool.h>
#include <stddef.h>

#define FD_CONFIG_ITEMS(X)                                                          \
	X(LISTEN, listen, STR, "tcp://127.0.0.1:7400", false,                       \
	  "RPC listen URLs, comma separated: tcp://, ipc://, tls+tcp://")           \
	X(EVENTS_LISTEN, events_listen, STR, "tcp://127.0.0.1:7401", false,         \
	  "PUB URLs for live events, comma separated")                              \
	X(EVENTS_URL, events_url, STR, "", false,                                   \
	  "events URL told to desks by Health.Ping (default: first events_listen)") \
	X(DB, db, STR, "", false,                                                   \
	  "libpq conninfo; empty uses the PG* environment variables")               \
	X(WORKERS, workers, INT, "4", false,                                        \
	  "worker threads, each owning one PostgreSQL connection")                  \
	X(QUEUE_DEPTH, queue_depth, INT, "256", false,                              \
	  "calls waiting for a worker before RESOURCE_EXHAUSTED")                   \
	X(CONTEXTS, contexts, INT, "128", false,                                    \
	  "nng REP contexts: calls received concurrently")                          \
	X(MAX_REQUEST_BYTES, max_request_bytes, INT, "1048576", false,              \
	  "largest request answered; bigger gets RESOURCE_EXHAUSTED")               \
	X(RECV_MAX_BYTES, recv_max_bytes, INT, "4194304", false,                    \
	  "NNG_OPT_RECVMAXSZ: bigger messages drop the connection")                 \
	X(DEFAULT_TIMEOUT_MS, default_timeout_ms, INT, "10000", true,               \
	  "budget of a call that names none")                                       \
	X(MAX_TIMEOUT_MS, max_timeout_ms, INT, "60000", true,                       \
	  "largest budget a call may ask for")                                      \
	X(SESSION_IDLE_TIMEOUT_S, session_idle_timeout_s, INT, "900", true,         \
	  "idle seconds before a session is logged off")                            \
	X(SESSION_LIFETIME_S, session_lifetime_s, INT, "43200", true,               \
	  "absolute session lifetime in seconds")                                   \
	X(LOGIN_MAX_FAILURES, login_max_failures, INT, "5", true,                   \
	  "failed logins in a row before the user name is locked")                  \
	X(LOGIN_LOCKOUT_S, login_lockout_s, INT, "900", true,                       \
	  "how long a locked user name stays locked")                               \
	X(IDEMPOTENCY_RETENTION_S, idempotency_retention_s, INT, "86400", true,     \
	  "how long stored replies answer resent requests")                         \
	X(PASSWORD_HASH_COST, password_hash_cost, STR, "interactive", false,        \
	  "Argon2id cost for new passwords: interactive, moderate or min (tests)")  \
	X(TLS_CERT_FILE, tls_cert_file, STR, "", false,                             \
	  "PEM certificate (with key, or see tls_key_file) for tls+tcp://")         \
	X(TLS_KEY_FILE, tls_key_file, STR, "", false,                               \
	  "PEM private key for tls+tcp://")                                         \
	X(TLS_CLIENT_CA_FILE, tls_client_ca_file, STR, "", false,                   \
	  "when set, desks must present a certificate signed by this CA")           \
	X(ALLOW_PLAINTEXT_REMOTE, allow_plaintext_remote, INT, "0", false,          \
	  "1: allow tcp:// on a non-loopback address (logged as a warning)")       \
	X(DB_ROLE, db_role, STR, "frontdesk_app", false,                            \
	  "database role workers SET ROLE to; empty: the connecting user")          \
	X(LOG_LEVEL, log_level, STR, "info", true, "error, warn, info or debug")

#define X(id, name, type, def, reload, help) CFG_##id,
enum fd_config_id { FD_CONFIG_ITEMS(X) CFG_COUNT };
#undef X

enum fd_config_type { CFG_TYPE_STR, CFG_TYPE_INT };

struct fd_config_item {
	const char *name;
	enum fd_config_type type;
	const char *default_value;
	bool reloadable;
	const char *help;
};

extern const struct fd_config_item fd_config_items[CFG_COUNT];

/* Loads defaults, the file named by --config or FRONTDESK_CONFIG, the
 * environment and the flags in argv (argv[0] is skipped; non-flag words are
 * left for the caller and counted in *rest_argc / *rest_argv). Returns 0, or
 * -1 with a message for the operator in err. */
int config_load(int argc, char **argv, int *rest_argc, char ***rest_argv,
		char *err, size_t err_size) __attribute__((warn_unused_result));
/* SIGHUP: rereads file and environment, applies reloadable items, logs the
 * ones that need a restart. Flags given at start keep precedence. */
int config_reload(char *err, size_t err_size);
void config_free(void);

const char *cfg_str(enum fd_config_id id);
int cfg_int(enum fd_config_id id);
/* For tests: set a value as if given by a flag. */
int config_set(const char *name, const char *value, char *err, size_t err_size);

#endif
