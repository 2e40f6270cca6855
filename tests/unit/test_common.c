/* Unit tests of common/: arena, UTF-8 checks, hex, status names. */
#include "arena.h"
#include "harness.h"
#include "status.h"
#include "util.h"
#include "frontdesk/v1/admin.pb-c.h"

static void arena_memory_is_zeroed_aligned_and_reset(void)
{
	fd_arena a;

	fd_arena_init(&a, 0);
	for (int i = 0; i < 1000; i++) {
		unsigned char *p = fd_arena_alloc(&a, (size_t)(i % 37) + 1);
		CHECK(p != NULL);
		CHECK(((uintptr_t)p % 16) == 0);
		for (int k = 0; k < i % 37 + 1; k++)
			CHECK(p[k] == 0);
		memset(p, 0xab, (size_t)(i % 37) + 1);
	}
	char *big = fd_arena_alloc(&a, 100000);
	CHECK(big != NULL);
	fd_arena_reset(&a);
	CHECK_INT(a.total, 0);
	CHECK(fd_arena_alloc(&a, 10) != NULL);
	CHECK_STR(fd_arena_printf(&a, "%s-%d", "desk", 7), "desk-7");
	fd_arena_destroy(&a);
}

static void arena_limit_refuses_past_it(void)
{
	fd_arena a;

	fd_arena_init(&a, 1024);
	CHECK(fd_arena_alloc(&a, 512) != NULL);
	CHECK(fd_arena_alloc(&a, 1024) == NULL);
	fd_arena_destroy(&a);
}

static void utf8_accepts_every_script_and_refuses_malformed(void)
{
	const char *good[] = { "O'Brien", "José", "李小龍", "Nguyễn", "😀", "" };
	const char *bad[] = {
		"\xc3",             /* truncated */
		"\xc0\xaf",         /* overlong '/' */
		"\xed\xa0\x80",     /* surrogate */
		"\xf4\x90\x80\x80", /* past U+10FFFF */
		"\xff",             /* never valid */
		"abc\x80",          /* stray continuation */
	};

	for (size_t i = 0; i < sizeof good / sizeof *good; i++)
		CHECK_MSG(fd_utf8_valid(good[i], strlen(good[i])), "good[%zu]", i);
	for (size_t i = 0; i < sizeof bad / sizeof *bad; i++)
		CHECK_MSG(!fd_utf8_valid(bad[i], strlen(bad[i])), "bad[%zu]", i);
}

static void message_text_check_walks_repeated_strings(void)
{
	Frontdesk__V1__CreateStaffRequest req = FRONTDESK__V1__CREATE_STAFF_REQUEST__INIT;
	char *roles[] = { "admin", "front\xff" };

	req.username = "ok";
	req.roles = roles;
	req.n_roles = 1;
	CHECK(fd_message_text_valid(&req.base, 4));
	req.n_roles = 2;
	CHECK(!fd_message_text_valid(&req.base, 4));
	req.n_roles = 0;
	req.display_name = "\xc3";
	CHECK(!fd_message_text_valid(&req.base, 4));
}

static void hex_and_status_names(void)
{
	uint8_t b[] = { 0x00, 0x9f, 0xff };
	char out[7];
	fd_status st;

	fd_hex(out, sizeof out, b, sizeof b);
	CHECK_STR(out, "009fff");
	CHECK_STR(fd_code_name(FD_UNAUTHENTICATED), "UNAUTHENTICATED");
	CHECK_STR(fd_code_name(99), "UNKNOWN_CODE");
	CHECK_INT(fd_fail(&st, FD_NOT_FOUND, "no desk %d", 3), FD_NOT_FOUND);
	CHECK_STR(st.message, "no desk 3");
}

static void request_ids_are_random(void)
{
	uint8_t a[FD_REQUEST_ID_LEN], b[FD_REQUEST_ID_LEN];

	CHECK(fd_random_init() == 0);
	fd_request_id_new(a);
	fd_request_id_new(b);
	CHECK(memcmp(a, b, sizeof a) != 0);
}

TH_MAIN(TH_CASE(arena_memory_is_zeroed_aligned_and_reset),
	TH_CASE(arena_limit_refuses_past_it),
	TH_CASE(utf8_accepts_every_script_and_refuses_malformed),
	TH_CASE(message_text_check_walks_repeated_strings),
	TH_CASE(hex_and_status_names), TH_CASE(request_ids_are_random))
