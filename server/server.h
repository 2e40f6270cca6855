/*
 * The server's entry points, called by main.c after the configuration is
 * loaded: `serve` runs until SIGTERM/SIGINT; the admin tools run once and
 * return a process exit code (sysexits.h).
 */
#ifndef FD_SERVER_H
#define FD_SERVER_H

/* Runs frontdeskd: schema check, workers, listener, events, signals, the
 * janitor; returns the exit code (0 after a clean SIGTERM/SIGINT). */
int server_serve(void);

/* `frontdeskd create-admin --user NAME [--name TEXT] [--password-stdin]` */
int admin_create_admin(int argc, char **argv);
/* `frontdeskd seed-demo`: the demo clinic for `make run` (idempotent). */
int admin_seed_demo(int argc, char **argv);
/* `frontdeskd audit seal|verify`: links the audit rows not yet in the hash
 * chain, or recomputes the chain and names the first broken row (exit 65,
 * EX_DATAERR, on a break). Runs as the connecting user (the owner). */
int admin_audit(int argc, char **argv);

#endif
