/*
 * The desk's shared plumbing: desk.conf, global and per-command flags, the
 * saved session token, password entry, and reaching the server. The order
 * in which each setting is looked up is written once, in settings.h.
 *
 * The session token is a bearer credential for a member of staff at a
 * clinic desk, so it is written only to a file its owner alone can read
 * (created 0600 with O_NOFOLLOW in a 0700 folder), and a password is only
 * ever read from a pipe, the environment or the terminal with echo off,
 * never from argv where `ps` would show it.
 */
#include "settings.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pwd.h>
#include <signal.h>
#include <sodium.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sysexits.h>
#include <termios.h>
#include <unistd.h>

#include "output.h"

/* --- desk.conf ------------------------------------------------------- */

/* $XDG_CONFIG_HOME/frontdesk, or ~/.config/frontdesk. The XDG spec says a
 * relative XDG_CONFIG_HOME is to be ignored. */
static bool config_dir(char *buf, size_t size)
{
	const char *xdg = getenv("XDG_CONFIG_HOME");
	const char *home = getenv("HOME");

	if (xdg && xdg[0] == '/')
		return (size_t)snprintf(buf, size, "%s/frontdesk", xdg) < size;
	if (!home || !home[0]) {
		struct passwd *pw = getpwuid(getuid());
		home = pw ? pw->pw_dir : NULL;
	}
	if (!home || !home[0])
		return false;
	return (size_t)snprintf(buf, size, "%s/.config/frontdesk", home) < size;
}

static bool config_file(char *buf, size_t size, const char *name)
{
	char dir[PATH_MAX];

	return config_dir(dir, sizeof dir) &&
	       (size_t)snprintf(buf, size, "%s/%s", dir, name) < size;
}

bool desk_session_path(char *buf, size_t size)
{
	return config_file(buf, size, "session");
}

static char *trim(char *s)
{
	char *end;

	while (*s == ' ' || *s == '\t')
		s++;
	end = s + strlen(s);
	while (end > s && (end[-1] == ' ' || end[-1] == '\t' ||
			   end[-1] == '\n' || end[-1] == '\r'))
		*--end = '\0';
	return s;
}

/* Drops one pair of matching quotes around a value. */
static char *unquote(char *v)
{
	size_t n = strlen(v);

	if (n >= 2 && (v[0] == '"' || v[0] == '\'') && v[n - 1] == v[0]) {
		v[n - 1] = '\0';
		return v + 1;
	}
	return v;
}

static void set_conf(char **slot, const char *value)
{
	free(*slot);
	*slot = value[0] ? strdup(value) : NULL;
}

/* One `key = value` line of desk.conf; false when it is not usable. */
static bool conf_line(struct desk *d, char *line)
{
	char *eq = strchr(line, '='), *key, *value;

	if (!eq)
		return false;
	*eq = '\0';
	key = trim(line);
	value = unquote(trim(eq + 1));
	if (strcmp(key, "server") == 0)
		set_conf(&d->conf_server, value);
	else if (strcmp(key, "desk") == 0)
		set_conf(&d->conf_desk, value);
	else if (strcmp(key, "tls_ca") == 0)
		set_conf(&d->conf_tls_ca, value);
	else
		return false;
	return true;
}

void desk_init(struct desk *d)
{
	char path[PATH_MAX], line[1024];
	int lineno = 0;
	FILE *f;

	memset(d, 0, sizeof *d);
	if (!config_file(path, sizeof path, "desk.conf"))
		return;
	if (!(f = fopen(path, "re")))
		return; /* no config file is the usual case */
	while (fgets(line, sizeof line, f)) {
		size_t n = strlen(line);
		char *s;

		lineno++;
		if (n && line[n - 1] != '\n' && !feof(f)) {
			int c;
			while ((c = fgetc(f)) != EOF && c != '\n')
				;
			fprintf(stderr, "desk: %s:%d: line too long (ignored)\n",
				path, lineno);
			continue;
		}
		s = trim(line);
		if (!s[0] || s[0] == '#')
			continue;
		if (!conf_line(d, s))
			fprintf(stderr,
				"desk: %s:%d: not a known `name = value` setting "
				"(server, desk, tls_ca); ignored\n",
				path, lineno);
	}
	fclose(f);
}

void desk_cleanup(struct desk *d)
{
	fd_client_close(d->client);
	d->client = NULL;
	free(d->conf_server);
	free(d->conf_desk);
	free(d->conf_tls_ca);
	d->conf_server = d->conf_desk = d->conf_tls_ca = NULL;
}

/* --- settings -------------------------------------------------------- */

static const char *env_value(const char *name)
{
	const char *v = getenv(name);

	return (v && v[0]) ? v : NULL;
}

const char *desk_server_url(const struct desk *d)
{
	const char *v;

	if (d->server_flag)
		return d->server_flag;
	if ((v = env_value("FRONTDESK_SERVER")))
		return v;
	return d->conf_server ? d->conf_server : DESK_DEFAULT_SERVER;
}

const char *desk_code(const struct desk *d, const char *flag_value)
{
	const char *v;

	if (flag_value && flag_value[0])
		return flag_value;
	if ((v = env_value("FRONTDESK_DESK")))
		return v;
	return d->conf_desk;
}

static const char *tls_ca(const struct desk *d)
{
	const char *v;

	if (d->tls_ca_flag)
		return d->tls_ca_flag;
	if ((v = env_value("FRONTDESK_TLS_CA")))
		return v;
	return d->conf_tls_ca;
}

/* --- reporting ------------------------------------------------------- */

int desk_fail(struct desk *d, const fd_status *st)
{
	return desk_report(d->json, d->cmd ? d->cmd->action : "error", st, NULL,
			   d->cmd ? d->cmd->role : NULL, desk_server_url(d));
}

int desk_fail_local(struct desk *d, int code, const char *hint,
		    const char *fmt, ...)
{
	fd_status st;
	va_list ap;

	st.code = code;
	va_start(ap, fmt);
	vsnprintf(st.message, sizeof st.message, fmt, ap);
	va_end(ap);
	return desk_report(d->json, d->cmd ? d->cmd->action : "error", &st,
			   hint, d->cmd ? d->cmd->role : NULL,
			   desk_server_url(d));
}

/* "noun verb", "verb", or "noun" alone for a noun's default command (an
 * empty verb: `desk room VISIT`). */
static void print_command_name(FILE *out, const struct desk_command *cmd)
{
	fprintf(out, "%s%s%s", cmd->noun ? cmd->noun : "", cmd->noun && *cmd->verb ? " " : "",
		cmd->verb);
}

void desk_print_command(FILE *out, const struct desk_command *cmd)
{
	fputs("desk ", out);
	print_command_name(out, cmd);
	if (cmd->args && cmd->args[0])
		fprintf(out, " %s", cmd->args);
}

int desk_usage(struct desk *d, const char *fmt, ...)
{
	char problem[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(problem, sizeof problem, fmt, ap);
	va_end(ap);

	fflush(stdout);
	fprintf(stderr, "desk: %s\n", problem);
	if (d->cmd) {
		fputs("usage: ", stderr);
		desk_print_command(stderr, d->cmd);
		fputs("\nrun `desk ", stderr);
		print_command_name(stderr, d->cmd);
		fputs(" --help` for details\n", stderr);
	} else {
		fputs("usage: desk [global flags] <command> [flags]\n"
		      "run `desk --help` for the list of commands\n",
		      stderr);
	}
	if (d->json) {
		struct desk_json j;

		json_begin(&j, stdout);
		json_object(&j, "error");
		json_int(&j, "code", FD_INVALID_ARGUMENT);
		json_string(&j, "name", fd_code_name(FD_INVALID_ARGUMENT));
		json_string(&j, "message", problem);
		json_bool(&j, "usage", true);
		json_object_end(&j);
		json_end(&j);
	}
	return EX_USAGE;
}

/* --- flags ----------------------------------------------------------- */

/* Matches argv[*i] against `--name` / `--name=value`. Returns 1 with *value
 * set (taking the next word when needed), 0 when it is another flag, -1
 * when the value is missing. *i is advanced past whatever was taken. */
static int valued_flag(int argc, char **argv, int *i, const char *name,
		       const char **value)
{
	const char *arg = argv[*i];
	size_t n = strlen(name);

	if (strncmp(arg, "--", 2) != 0 || strncmp(arg + 2, name, n) != 0)
		return 0;
	if (arg[2 + n] == '=') {
		*value = arg + 3 + n;
		(*i)++;
		return 1;
	}
	if (arg[2 + n] != '\0')
		return 0;
	(*i)++;
	/* A following flag is not taken as the value: `--name --json` is far
	 * more likely a forgotten value than a name. `--name=--x` still works. */
	if (*i >= argc || strncmp(argv[*i], "--", 2) == 0)
		return -1;
	*value = argv[(*i)++];
	return 1;
}

static int parse_timeout(const char *text, int *ms)
{
	char *end;
	long v;

	errno = 0;
	v = strtol(text, &end, 10);
	if (errno || end == text || *end || v < 1 || v > 3600000)
		return -1;
	*ms = (int)v;
	return 0;
}

int desk_take_global_flag(struct desk *d, int argc, char **argv, int *i,
			  char *err, size_t err_size)
{
	const char *arg = argv[*i], *value = NULL;
	int rv;

	if (strcmp(arg, "--json") == 0) {
		d->json = true;
		(*i)++;
		return 1;
	}
	if (strcmp(arg, "--help") == 0 || strcmp(arg, "-h") == 0) {
		d->help = true;
		(*i)++;
		return 1;
	}
	if ((rv = valued_flag(argc, argv, i, "server", &value)) != 0) {
		if (rv > 0)
			d->server_flag = value;
	} else if ((rv = valued_flag(argc, argv, i, "tls-ca", &value)) != 0) {
		if (rv > 0)
			d->tls_ca_flag = value;
	} else if ((rv = valued_flag(argc, argv, i, "timeout", &value)) != 0) {
		if (rv > 0 && parse_timeout(value, &d->timeout_ms) != 0) {
			snprintf(err, err_size,
				 "--timeout takes milliseconds from 1 to 3600000, "
				 "not '%s'", value);
			return -1;
		}
	} else {
		return 0;
	}
	if (rv < 0) {
		snprintf(err, err_size, "%s needs a value", arg);
		return -1;
	}
	return 1;
}

static void print_flag_help(FILE *out, const struct desk_flag *f)
{
	char left[64];

	if (f->value_name)
		snprintf(left, sizeof left, "--%s %s", f->name, f->value_name);
	else
		snprintf(left, sizeof left, "--%s", f->name);
	fprintf(out, "  %-24s %s%s\n", left, f->help,
		f->type == DESK_FLAG_LIST ? " (repeatable)" : "");
}

static void print_command_help(const struct desk *d,
			       const struct desk_flag *flags, size_t n)
{
	const struct desk_command *cmd = d->cmd;

	fputs("usage: ", stdout);
	desk_print_command(stdout, cmd);
	printf("\n\n%s.\n", cmd->summary);
	if (cmd->help || cmd->role)
		fputs("\n", stdout);
	if (cmd->help)
		printf("%s\n", cmd->help);
	if (cmd->role)
		printf("Needs the %s role.\n", cmd->role);
	if (n) {
		fputs("\nflags:\n", stdout);
		for (size_t k = 0; k < n; k++)
			print_flag_help(stdout, &flags[k]);
	}
	fputs("\nglobal flags (before or after the command):\n"
	      "  --server URL             server (FRONTDESK_SERVER; default "
	      DESK_DEFAULT_SERVER ")\n"
	      "  --json                   print one JSON object on stdout\n"
	      "  --timeout MS             give up after MS milliseconds\n"
	      "  --tls-ca FILE            CA that signed the server's certificate\n"
	      "  -h, --help               this help\n",
	      stdout);
}

static const struct desk_flag *find_flag(const struct desk_flag *flags,
					 size_t n, const char *arg,
					 size_t *name_len)
{
	if (strncmp(arg, "--", 2) != 0)
		return NULL;
	arg += 2;
	for (size_t k = 0; k < n; k++) {
		size_t len = strlen(flags[k].name);
		if (strncmp(arg, flags[k].name, len) == 0 &&
		    (arg[len] == '\0' || arg[len] == '=')) {
			*name_len = len;
			return &flags[k];
		}
	}
	return NULL;
}

/* Stores one command flag at argv[*i]; writes a problem into err. */
static int take_flag(const struct desk_flag *f, size_t name_len, int argc,
		     char **argv, int *i, char *err, size_t err_size)
{
	const char *arg = argv[*i], *value = NULL;

	if (f->type == DESK_FLAG_SWITCH) {
		(*i)++;
		if (arg[2 + name_len] == '=') {
			snprintf(err, err_size, "--%s takes no value", f->name);
			return -1;
		}
		*(bool *)f->target = true;
		return 0;
	}
	if (valued_flag(argc, argv, i, f->name, &value) < 0) {
		snprintf(err, err_size, "--%s needs a value (%s)", f->name,
			 f->value_name ? f->value_name : "VALUE");
		return -1;
	}
	if (f->type == DESK_FLAG_TEXT) {
		*(const char **)f->target = value;
		return 0;
	}
	struct desk_list *list = f->target;
	if (list->n >= DESK_LIST_MAX) {
		snprintf(err, err_size, "--%s given more than %d times", f->name,
			 DESK_LIST_MAX);
		return -1;
	}
	list->items[list->n++] = value;
	return 0;
}

/* The command's --id flag when a bare word may stand for it (`desk call
 * answer 42` as well as `--id 42`): a text flag named "id" not yet set. */
static const char **bare_id_target(const struct desk_flag *flags, size_t n)
{
	for (size_t k = 0; k < n; k++)
		if (flags[k].type == DESK_FLAG_TEXT && strcmp(flags[k].name, "id") == 0 &&
		    *(const char **)flags[k].target == NULL)
			return flags[k].target;
	return NULL;
}

int desk_parse_flags(struct desk *d, const struct desk_flag *flags, size_t n,
		     int argc, char **argv)
{
	char problem[256] = "", err[256];
	const char **bare_id;
	int i = 0;

	while (i < argc) {
		const struct desk_flag *f;
		size_t name_len = 0;
		int g;

		err[0] = '\0';
		g = desk_take_global_flag(d, argc, argv, &i, err, sizeof err);
		if (g == 0) {
			if ((f = find_flag(flags, n, argv[i], &name_len))) {
				take_flag(f, name_len, argc, argv, &i, err,
					  sizeof err);
			} else if (argv[i][0] != '-' && (bare_id = bare_id_target(flags, n))) {
				*bare_id = argv[i++];
			} else {
				snprintf(err, sizeof err,
					 strncmp(argv[i], "-", 1) == 0
						 ? "unknown flag %s"
						 : "unexpected argument '%s'",
					 argv[i]);
				i++;
			}
		}
		if (err[0] && !problem[0])
			snprintf(problem, sizeof problem, "%s", err);
	}
	/* --help wins over any mistake next to it: it is what was asked. */
	if (d->help) {
		print_command_help(d, flags, n);
		return 0;
	}
	if (problem[0])
		return desk_usage(d, "%s", problem);
	return DESK_GO;
}

int desk_parse_id(struct desk *d, const char *flag, const char *text,
		  int64_t *id)
{
	char *end;
	long long v;

	if (!text)
		return desk_usage(d, "missing %s N", flag);
	errno = 0;
	v = strtoll(text, &end, 10);
	if (errno || end == text || *end || v <= 0)
		return desk_usage(d, "%s takes a record id (a positive number), "
				     "not '%s'", flag, text);
	*id = v;
	return 0;
}

int desk_parse_yes_no(struct desk *d, const char *flag, const char *text,
		      bool *value)
{
	static const char *const yes[] = { "yes", "true", "on", "1" };
	static const char *const no[] = { "no", "false", "off", "0" };

	for (size_t k = 0; k < sizeof yes / sizeof yes[0]; k++) {
		if (strcasecmp(text, yes[k]) == 0) {
			*value = true;
			return 0;
		}
		if (strcasecmp(text, no[k]) == 0) {
			*value = false;
			return 0;
		}
	}
	return desk_usage(d, "%s takes yes or no, not '%s'", flag, text);
}

/* --- session token --------------------------------------------------- */

/* Keeps the first word of the first line: the file holds the token and a
 * newline, and anything after is not part of it. */
static void first_word(char *s)
{
	char *p = s;

	while (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r')
		p++;
	memmove(s, p, strlen(p) + 1);
	s[strcspn(s, " \t\r\n")] = '\0';
}

bool desk_token_load(char *buf, size_t size, const char **source)
{
	static char path[PATH_MAX];
	const char *env = env_value("FRONTDESK_TOKEN");
	struct stat sb;
	ssize_t n;
	int fd;

	buf[0] = '\0';
	if (env) {
		*source = "FRONTDESK_TOKEN";
		snprintf(buf, size, "%s", env);
		first_word(buf);
		return buf[0] != '\0';
	}
	if (!desk_session_path(path, sizeof path))
		return false;
	*source = path;
	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) < 0)
		return false;
	if (fstat(fd, &sb) != 0 || !S_ISREG(sb.st_mode)) {
		close(fd);
		return false;
	}
	if (sb.st_mode & 077)
		fprintf(stderr,
			"desk: warning: %s can be read by other users; "
			"run `chmod 600 %s`\n",
			path, path);
	n = read(fd, buf, size - 1);
	close(fd);
	if (n <= 0)
		return false;
	buf[n] = '\0';
	first_word(buf);
	return buf[0] != '\0';
}

/* mkdir -p with 0700 for every folder it has to make; folders that exist
 * are left as they are. */
static int make_private_dirs(const char *dir)
{
	char path[PATH_MAX];

	if ((size_t)snprintf(path, sizeof path, "%s", dir) >= sizeof path) {
		errno = ENAMETOOLONG;
		return -1;
	}
	for (char *p = path + 1; *p; p++) {
		if (*p != '/')
			continue;
		*p = '\0';
		if (mkdir(path, 0700) != 0 && errno != EEXIST)
			return -1;
		*p = '/';
	}
	if (mkdir(path, 0700) != 0 && errno != EEXIST)
		return -1;
	return 0;
}

static int write_all(int fd, const char *s, size_t n)
{
	while (n > 0) {
		ssize_t w = write(fd, s, n);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return -1;
		s += w;
		n -= (size_t)w;
	}
	return 0;
}

static int cannot_save(struct desk *d, const char *path)
{
	desk_fail_local(d, FD_INTERNAL,
			"check that the folder is writable, or set "
			"XDG_CONFIG_HOME; the session stays open on the server "
			"until it times out",
			"cannot save the session token to %s: %s", path,
			strerror(errno));
	return EX_CANTCREAT;
}

int desk_token_save(struct desk *d, const char *token, char *path,
		    size_t path_size)
{
	char dir[PATH_MAX];
	int fd;

	if (!config_dir(dir, sizeof dir) ||
	    !desk_session_path(path, path_size)) {
		errno = ENOENT;
		return cannot_save(d, "~/.config/frontdesk (no home folder)");
	}
	if (make_private_dirs(dir) != 0)
		return cannot_save(d, dir);
	/* O_NOFOLLOW: a symlink planted at the path must not redirect the
	 * token elsewhere. fchmod: an older file may have looser bits. */
	fd = open(path, O_CREAT | O_WRONLY | O_TRUNC | O_NOFOLLOW | O_CLOEXEC,
		  0600);
	if (fd < 0)
		return cannot_save(d, path);
	if (fchmod(fd, 0600) != 0 || write_all(fd, token, strlen(token)) != 0 ||
	    write_all(fd, "\n", 1) != 0) {
		int saved = errno;
		close(fd);
		unlink(path);
		errno = saved;
		return cannot_save(d, path);
	}
	if (close(fd) != 0) {
		unlink(path);
		return cannot_save(d, path);
	}
	return 0;
}

bool desk_token_remove(void)
{
	char path[PATH_MAX];

	return desk_session_path(path, sizeof path) && unlink(path) == 0;
}

/* --- passwords ------------------------------------------------------- */

static int read_stdin_line(struct desk *d, char *buf, size_t size)
{
	size_t n;

	if (!fgets(buf, (int)size, stdin))
		return desk_usage(d, "--password-stdin: nothing on standard input");
	n = strlen(buf);
	if (n && buf[n - 1] != '\n' && !feof(stdin)) {
		sodium_memzero(buf, size);
		return desk_usage(d, "--password-stdin: the password is longer "
				     "than %d bytes", DESK_PASSWORD_MAX - 1);
	}
	buf[strcspn(buf, "\r\n")] = '\0';
	return 0;
}

static volatile sig_atomic_t prompt_signal;

static void on_prompt_signal(int sig)
{
	prompt_signal = sig;
}

static const int prompt_signals[] = { SIGINT, SIGTERM, SIGHUP, SIGQUIT };
#define N_PROMPT_SIGNALS (sizeof prompt_signals / sizeof prompt_signals[0])

/* Reads one line from the terminal with echo off. Echo is restored on
 * every path, a signal included: the signal is caught (without SA_RESTART,
 * so read returns), the terminal restored, and the signal raised again so
 * the desk still dies of it as the user asked. Returns 0, or -1 at end of
 * input, or -2 when the line does not fit. */
static int tty_read_hidden(int tty, const char *prompt, char *buf,
			   size_t size)
{
	struct sigaction act, old_act[N_PROMPT_SIGNALS];
	struct termios old_tio, tio;
	bool have_tio;
	size_t len = 0;
	int rv = 0;

	if (write_all(tty, prompt, strlen(prompt)) != 0)
		return -1;
	have_tio = tcgetattr(tty, &old_tio) == 0;
	memset(&act, 0, sizeof act);
	act.sa_handler = on_prompt_signal;
	sigemptyset(&act.sa_mask);
	prompt_signal = 0;
	for (size_t k = 0; k < N_PROMPT_SIGNALS; k++)
		sigaction(prompt_signals[k], &act, &old_act[k]);
	if (have_tio) {
		tio = old_tio;
		tio.c_lflag &= ~(tcflag_t)ECHO;
		tio.c_lflag |= ECHONL;
		tcsetattr(tty, TCSAFLUSH, &tio);
	}
	for (;;) {
		char c;
		ssize_t r = read(tty, &c, 1);

		if (r < 0 && errno == EINTR && !prompt_signal)
			continue;
		if (r <= 0) {
			rv = -1;
			break;
		}
		if (c == '\n')
			break;
		if (len + 1 >= size) {
			rv = -2; /* keep reading to the end of the line */
			continue;
		}
		buf[len++] = c;
	}
	buf[len] = '\0';
	if (rv == -2)
		sodium_memzero(buf, size);
	if (have_tio)
		tcsetattr(tty, TCSAFLUSH, &old_tio);
	for (size_t k = 0; k < N_PROMPT_SIGNALS; k++)
		sigaction(prompt_signals[k], &old_act[k], NULL);
	if (prompt_signal) {
		sodium_memzero(buf, size);
		write_all(tty, "\n", 1);
		raise(prompt_signal);
	}
	return rv;
}

static int prompt_password(struct desk *d, const char *prompt, bool confirm,
			   char *buf, size_t size)
{
	char again[DESK_PASSWORD_MAX];
	int tty = open("/dev/tty", O_RDWR | O_CLOEXEC | O_NOCTTY);
	int rv;

	if (tty < 0)
		return desk_usage(d, "no password given and no terminal to ask "
				     "on: use --password-stdin or set the "
				     "password variable (see --help)");
	rv = tty_read_hidden(tty, prompt, buf, size);
	if (rv == 0 && confirm) {
		rv = tty_read_hidden(tty, "Type it again: ", again, sizeof again);
		if (rv == 0 && strcmp(buf, again) != 0)
			rv = -3;
		sodium_memzero(again, sizeof again);
	}
	close(tty);
	if (rv == 0)
		return 0;
	sodium_memzero(buf, size);
	if (rv == -2)
		return desk_usage(d, "the password is longer than %d bytes",
				  DESK_PASSWORD_MAX - 1);
	if (rv == -3)
		return desk_fail_local(d, FD_INVALID_ARGUMENT,
				       "type the same password twice",
				       "the two passwords do not match");
	return desk_usage(d, "no password read from the terminal");
}

int desk_read_password(struct desk *d, bool from_stdin, const char *env_name,
		       const char *prompt, bool confirm, char *buf, size_t size)
{
	const char *env = env_name ? env_value(env_name) : NULL;
	int rv;

	buf[0] = '\0';
	if (from_stdin)
		rv = read_stdin_line(d, buf, size);
	else if (env)
		rv = (size_t)snprintf(buf, size, "%s", env) < size
			     ? 0
			     : desk_usage(d, "%s is longer than %zu bytes",
					  env_name, size - 1);
	else
		rv = prompt_password(d, prompt, confirm, buf, size);
	if (rv == 0 && !buf[0])
		rv = desk_usage(d, "the password is empty");
	return rv;
}

/* --- the server ------------------------------------------------------ */

int desk_connect(struct desk *d, bool session)
{
	char token[DESK_TOKEN_MAX], path[PATH_MAX];
	fd_client_options opts = { 0 };
	const char *source = NULL;
	fd_status st;

	if (session && !desk_token_load(token, sizeof token, &source)) {
		if (!desk_session_path(path, sizeof path))
			snprintf(path, sizeof path, "~/.config/frontdesk/session");
		return desk_fail_local(d, FD_UNAUTHENTICATED,
				       "log in first with `desk login --user NAME`",
				       "not logged in (no FRONTDESK_TOKEN and no "
				       "session saved in %s)", path);
	}
	opts.url = desk_server_url(d);
	opts.timeout_ms = d->timeout_ms;
	opts.tls_ca_file = tls_ca(d);
	if (fd_client_open(&d->client, &opts, &st) != FD_OK) {
		sodium_memzero(token, sizeof token);
		if (st.code == FD_INVALID_ARGUMENT) {
			desk_report(d->json, d->cmd->action, &st,
				    "set FRONTDESK_SERVER or --server to "
				    "tcp://HOST:PORT, ipc:///PATH or "
				    "tls+tcp://HOST:PORT", NULL, opts.url);
			return EX_USAGE;
		}
		return desk_fail(d, &st);
	}
	if (session)
		fd_client_set_token(d->client, token);
	sodium_memzero(token, sizeof token);
	return 0;
}

int desk_call_quiet(struct desk *d, const ProtobufCServiceDescriptor *svc,
		    const char *method, const ProtobufCMessage *request,
		    ProtobufCMessage **reply, fd_status *st)
{
	const ProtobufCMethodDescriptor *m =
		protobuf_c_service_descriptor_get_method_by_name(svc, method);
	char path[256];

	*reply = NULL;
	if (!m || m->input != request->descriptor)
		return fd_fail(st, FD_INTERNAL, "desk bug: no method %s.%s taking %s",
			       svc->name, method, request->descriptor->name);
	snprintf(path, sizeof path, "/%s/%s", svc->name, m->name);
	return fd_client_call(d->client, path, request, m->output, reply,
			      d->timeout_ms, st);
}

int desk_call(struct desk *d, const ProtobufCServiceDescriptor *svc,
	      const char *method, const ProtobufCMessage *request,
	      ProtobufCMessage **reply)
{
	fd_status st;

	if (desk_call_quiet(d, svc, method, request, reply, &st) == FD_OK)
		return 0;
	return desk_fail(d, &st);
}
