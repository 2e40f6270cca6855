/* The configuration table and its sources; see config.h. */
#include "config.h"

#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"

#define T_STR CFG_TYPE_STR
#define T_INT CFG_TYPE_INT
#define X(id, nm, ty, def, rl, hlp) \
	[CFG_##id] = { .name = #nm, .type = T_##ty, .default_value = def, \
		       .reloadable = rl, .help = hlp },
const struct fd_config_item fd_config_items[CFG_COUNT] = { FD_CONFIG_ITEMS(X) };
#undef X

static char *str_values[CFG_COUNT];
static int int_values[CFG_COUNT];
static char *flag_values[CFG_COUNT]; /* given on the command line */
static char *config_path;

static int find_item(const char *name, size_t len)
{
	for (int i = 0; i < CFG_COUNT; i++) {
		const char *n = fd_config_items[i].name;
		size_t k;

		if (strlen(n) != len)
			continue;
		/* Flags may spell '_' as '-'. */
		for (k = 0; k < len; k++)
			if (n[k] != name[k] && !(n[k] == '_' && name[k] == '-'))
				break;
		if (k == len)
			return i;
	}
	return -1;
}

static int parse_int(const char *s, int *out)
{
	char *end;
	long v;

	errno = 0;
	v = strtol(s, &end, 10);
	if (errno || end == s || *end != '\0' || v < 0 || v > INT_MAX)
		return -1;
	*out = (int)v;
	return 0;
}

/* Applies one value to the live table (all or only reloadable items). */
static int apply(int id, const char *value, bool reload, char *err,
		 size_t err_size)
{
	const struct fd_config_item *it = &fd_config_items[id];

	if (it->type == CFG_TYPE_INT) {
		int v;
		if (parse_int(value, &v) != 0) {
			snprintf(err, err_size,
				 "config %s: '%s' is not a non-negative integer",
				 it->name, value);
			return -1;
		}
		if (reload && !it->reloadable) {
			if (v != int_values[id])
				log_warn("config %s changed; it takes effect after a restart",
					 it->name);
			return 0;
		}
		__atomic_store_n(&int_values[id], v, __ATOMIC_RELAXED);
		return 0;
	}
	if (id == CFG_LOG_LEVEL) {
		int level = fd_log_level_parse(value);
		if (level < 0) {
			snprintf(err, err_size,
				 "config log_level: '%s' is not error, warn, info or debug",
				 value);
			return -1;
		}
		fd_log_level_current = level;
	}
	if (reload) {
		/* Strings are replaced only at load, so readers on other
		 * threads never see a freed pointer; log_level, the one
		 * reloadable string, was applied above through the level. */
		if (!it->reloadable &&
		    strcmp(value, str_values[id] ? str_values[id] : "") != 0)
			log_warn("config %s changed; it takes effect after a restart",
				 it->name);
		return 0;
	}
	char *copy = strdup(value);
	if (!copy) {
		snprintf(err, err_size, "out of memory");
		return -1;
	}
	free(str_values[id]);
	str_values[id] = copy;
	return 0;
}

static char *trim(char *s)
{
	char *e;

	while (isspace((unsigned char)*s))
		s++;
	e = s + strlen(s);
	while (e > s && isspace((unsigned char)e[-1]))
		*--e = '\0';
	return s;
}

static int load_file(const char *path, bool reload, char *err, size_t err_size)
{
	FILE *f = fopen(path, "r");
	char line[4096];
	int lineno = 0;

	if (!f) {
		snprintf(err, err_size, "cannot read config file %s: %s", path,
			 strerror(errno));
		return -1;
	}
	while (fgets(line, sizeof line, f)) {
		char *s = trim(line), *eq;
		int id;

		lineno++;
		if (*s == '\0' || *s == '#')
			continue;
		eq = strchr(s, '=');
		if (!eq) {
			snprintf(err, err_size, "%s:%d: expected 'name = value'",
				 path, lineno);
			fclose(f);
			return -1;
		}
		*eq = '\0';
		char *name = trim(s), *value = trim(eq + 1);
		id = find_item(name, strlen(name));
		if (id < 0) {
			snprintf(err, err_size, "%s:%d: unknown setting '%s'",
				 path, lineno, name);
			fclose(f);
			return -1;
		}
		if (flag_values[id])
			continue;
		if (apply(id, value, reload, err, err_size) != 0) {
			fclose(f);
			return -1;
		}
	}
	fclose(f);
	return 0;
}

static int load_env(bool reload, char *err, size_t err_size)
{
	for (int i = 0; i < CFG_COUNT; i++) {
		char var[96] = "FRONTDESK_";
		size_t n = strlen(var);

		for (const char *p = fd_config_items[i].name;
		     *p && n < sizeof var - 1; p++)
			var[n++] = (char)toupper((unsigned char)*p);
		var[n] = '\0';
		const char *v = getenv(var);
		if (v && !flag_values[i] && apply(i, v, reload, err, err_size) != 0)
			return -1;
	}
	return 0;
}

int config_load(int argc, char **argv, int *rest_argc, char ***rest_argv,
		char *err, size_t err_size)
{
	static char *rest[256];
	int nrest = 0;

	config_free();
	for (int i = 0; i < CFG_COUNT; i++)
		if (apply(i, fd_config_items[i].default_value, false, err,
			  err_size) != 0)
			return -1;
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];
		if (strncmp(a, "--", 2) != 0 || strcmp(a, "--") == 0) {
			if (nrest < 255)
				rest[nrest++] = argv[i];
			continue;
		}
		const char *name = a + 2, *eq = strchr(name, '=');
		size_t len = eq ? (size_t)(eq - name) : strlen(name);
		const char *value = eq ? eq + 1 : NULL;

		if (len == 6 && strncmp(name, "config", 6) == 0) {
			if (!value && i + 1 < argc)
				value = argv[++i];
			if (!value) {
				snprintf(err, err_size, "--config needs a file");
				return -1;
			}
			free(config_path);
			config_path = strdup(value);
			continue;
		}
		int id = find_item(name, len);
		if (id < 0) {
			/* Not ours: a subcommand's flag (migrate --migrations). */
			if (nrest < 255)
				rest[nrest++] = argv[i];
			continue;
		}
		if (!value) {
			if (i + 1 >= argc) {
				snprintf(err, err_size, "--%.*s needs a value",
					 (int)len, name);
				return -1;
			}
			value = argv[++i];
		}
		free(flag_values[id]);
		flag_values[id] = strdup(value);
	}
	rest[nrest] = NULL;
	*rest_argc = nrest;
	*rest_argv = rest;
	if (!config_path && getenv("FRONTDESK_CONFIG"))
		config_path = strdup(getenv("FRONTDESK_CONFIG"));
	if (config_path && load_file(config_path, false, err, err_size) != 0)
		return -1;
	if (load_env(false, err, err_size) != 0)
		return -1;
	for (int i = 0; i < CFG_COUNT; i++)
		if (flag_values[i] &&
		    apply(i, flag_values[i], false, err, err_size) != 0)
			return -1;
	return 0;
}

int config_reload(char *err, size_t err_size)
{
	if (config_path && load_file(config_path, true, err, err_size) != 0)
		return -1;
	return load_env(true, err, err_size);
}

int config_set(const char *name, const char *value, char *err, size_t err_size)
{
	int id = find_item(name, strlen(name));

	if (id < 0) {
		snprintf(err, err_size, "unknown setting '%s'", name);
		return -1;
	}
	return apply(id, value, false, err, err_size);
}

void config_free(void)
{
	for (int i = 0; i < CFG_COUNT; i++) {
		free(str_values[i]);
		str_values[i] = NULL;
		free(flag_values[i]);
		flag_values[i] = NULL;
	}
	free(config_path);
	config_path = NULL;
}

const char *cfg_str(enum fd_config_id id)
{
	return str_values[id] ? str_values[id] : "";
}

int cfg_int(enum fd_config_id id)
{
	return __atomic_load_n(&int_values[id], __ATOMIC_RELAXED);
}
