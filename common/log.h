/*
 * Logging for the server and tools. The level is checked before anything is
 * formatted (the macro never evaluates its arguments when the level is off),
 * and every line starts with a timestamp and level. Callers pass ids, method
 * names, codes and durations, never patient data: that rule is enforced by
 * review and by the audit table being the only place patient ids are written.
 * Thread-safe: one write(2) per line.
 */
#ifndef FD_LOG_H
#define FD_LOG_H

enum fd_log_level { FD_LOG_ERROR = 0, FD_LOG_WARN, FD_LOG_INFO, FD_LOG_DEBUG };

extern volatile int fd_log_level_current;

/* "error", "warn", "info", "debug"; returns -1 for anything else. */
int fd_log_level_parse(const char *name);
void fd_log_write(int level, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

#define fd_log(level, ...)                                  \
	do {                                                \
		if ((level) <= fd_log_level_current)        \
			fd_log_write((level), __VA_ARGS__); \
	} while (0)
#define log_error(...) fd_log(FD_LOG_ERROR, __VA_ARGS__)
#define log_warn(...) fd_log(FD_LOG_WARN, __VA_ARGS__)
#define log_info(...) fd_log(FD_LOG_INFO, __VA_ARGS__)
#define log_debug(...) fd_log(FD_LOG_DEBUG, __VA_ARGS__)

#endif
