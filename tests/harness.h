/*
 * The tiny test harness every test binary links (after nng's nuts.h): a test
 * is a void function; CHECK stops it at the first failed expectation and
 * records where. th_main runs the cases named on the command line (or all),
 * prints one line per case and a machine line "@@ passed=P failed=F" that
 * tests/run.sh adds up into the suite's closing "N passed, N failed".
 */
#ifndef FD_TEST_HARNESS_H
#define FD_TEST_HARNESS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>

typedef void (*th_fn)(void);

struct th_case {
	const char *name;
	th_fn fn;
};

#define TH_CASE(fn) { #fn, fn }

/* Marks the running case failed; used by the CHECK macros. */
void th_fail(const char *file, int line, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
/* True once the running case has failed (helpers use it to stop early). */
bool th_failed(void);

int th_main(int argc, char **argv, const struct th_case *cases, size_t n);

#define TH_MAIN(...)                                                        \
	int main(int argc, char **argv)                                     \
	{                                                                   \
		static const struct th_case cases[] = { __VA_ARGS__ };      \
		return th_main(argc, argv, cases,                           \
			       sizeof cases / sizeof cases[0]);             \
	}

#define CHECK(cond)                                                  \
	do {                                                         \
		if (!(cond)) {                                       \
			th_fail(__FILE__, __LINE__, "%s", #cond);    \
			return;                                      \
		}                                                    \
	} while (0)

#define CHECK_MSG(cond, ...)                                         \
	do {                                                         \
		if (!(cond)) {                                       \
			th_fail(__FILE__, __LINE__, __VA_ARGS__);    \
			return;                                      \
		}                                                    \
	} while (0)

#define CHECK_INT(a, b)                                                     \
	do {                                                                \
		long long th_a_ = (long long)(a), th_b_ = (long long)(b);   \
		if (th_a_ != th_b_) {                                       \
			th_fail(__FILE__, __LINE__, "%s == %s (%lld != %lld)", \
				#a, #b, th_a_, th_b_);                      \
			return;                                             \
		}                                                           \
	} while (0)

#define CHECK_STR(a, b)                                                     \
	do {                                                                \
		const char *th_a_ = (a), *th_b_ = (b);                      \
		if (!th_a_ || !th_b_ || strcmp(th_a_, th_b_) != 0) {        \
			th_fail(__FILE__, __LINE__, "%s == %s (\"%s\" != \"%s\")", \
				#a, #b, th_a_ ? th_a_ : "(null)",           \
				th_b_ ? th_b_ : "(null)");                  \
			return;                                             \
		}                                                           \
	} while (0)

#endif
