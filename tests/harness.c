/* Runner for one test binary; see harness.h. */
#include "harness.h"

#include <nng/nng.h>
#include <stdarg.h>
#include <stdlib.h>
#include <time.h>

static bool current_failed;

void th_fail(const char *file, int line, const char *fmt, ...)
{
	va_list ap;

	current_failed = true;
	fprintf(stdout, "    at %s:%d: ", file, line);
	va_start(ap, fmt);
	vfprintf(stdout, fmt, ap);
	va_end(ap);
	fputc('\n', stdout);
	fflush(stdout);
}

bool th_failed(void)
{
	return current_failed;
}

static bool selected(int argc, char **argv, const char *name)
{
	if (argc < 2)
		return true;
	for (int i = 1; i < argc; i++)
		if (strcmp(argv[i], name) == 0)
			return true;
	return false;
}

int th_main(int argc, char **argv, const struct th_case *cases, size_t n)
{
	int passed = 0, failed = 0;

	setvbuf(stdout, NULL, _IOLBF, 0);
	for (size_t i = 0; i < n; i++) {
		struct timespec t0, t1;

		if (!selected(argc, argv, cases[i].name))
			continue;
		current_failed = false;
		clock_gettime(CLOCK_MONOTONIC, &t0);
		cases[i].fn();
		clock_gettime(CLOCK_MONOTONIC, &t1);
		long ms = (t1.tv_sec - t0.tv_sec) * 1000 +
			  (t1.tv_nsec - t0.tv_nsec) / 1000000;
		if (current_failed) {
			failed++;
			printf("  FAIL %s (%ld ms)\n", cases[i].name, ms);
		} else {
			passed++;
			printf("  ok   %s (%ld ms)\n", cases[i].name, ms);
		}
	}
	/* nng keeps worker threads until told to stop; stopping them lets a
	 * valgrind run see every byte released. */
	nng_fini();
	printf("@@ passed=%d failed=%d\n", passed, failed);
	return failed ? 1 : 0;
}
