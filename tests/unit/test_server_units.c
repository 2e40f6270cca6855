/*
 * Server pieces that need no database: the SQLSTATE table, the config
 * table and its documentation, token and password helpers.
 */
#include <stdlib.h>
#include <unistd.h>

#include "auth.h"
#include "config.h"
#include "db/db.h"
#include "harness.h"
#include "listener.h"
#include "validate.h"

static void sqlstates_map_to_grpc_codes(void)
{
	fd_status st;

	CHECK_INT(db_status_from_sqlstate("23505", NULL, &st), FD_ALREADY_EXISTS);
	CHECK_INT(db_status_from_sqlstate("23P01", NULL, &st), FD_ALREADY_EXISTS);
	CHECK_INT(db_status_from_sqlstate("40001", NULL, &st), FD_ABORTED);
	CHECK_INT(db_status_from_sqlstate("40P01", NULL, &st), FD_ABORTED);
	CHECK_INT(db_status_from_sqlstate("57014", NULL, &st), FD_DEADLINE_EXCEEDED);
	CHECK_INT(db_status_from_sqlstate("08006", NULL, &st), FD_UNAVAILABLE);
	CHECK_INT(db_status_from_sqlstate(NULL, NULL, &st), FD_UNAVAILABLE);
	CHECK_INT(db_status_from_sqlstate("22007", NULL, &st), FD_INVALID_ARGUMENT);
	CHECK_INT(db_status_from_sqlstate("XX000", NULL, &st), FD_INTERNAL);
	CHECK(strstr(st.message, "XX000") == NULL);
	CHECK_INT(db_status_from_sqlstate("23505", "desks_code_key", &st), FD_ALREADY_EXISTS);
	CHECK(strstr(st.message, "desk") != NULL);
}

static void plaintext_urls_off_loopback_are_told_apart(void)
{
	const char *remote[] = { "tcp://0.0.0.0:7400", "tcp://*:7400", "tcp://:7400",
				 "tcp://10.0.0.5:7400", "tcp://[::]:7400", "tcp://frontdesk.lan:7400",
				 "tcp://127.0.0.1.example.com:7400", "tcp://[::ffff:127.0.0.1]:7400",
				 "tcp4://0.0.0.0:7400", "tcp6://[::]:7400", "ws://0.0.0.0:80/rpc" };
	const char *fine[] = { "tcp://127.0.0.1:7400", "tcp://127.1.2.3:7400", "tcp://[::1]:7400",
			       "tcp://localhost:7400", "tcp://LOCALHOST:7400", "ws://localhost:80/x",
			       "ipc:///tmp/fd.sock", "tls+tcp://0.0.0.0:7400", "wss://0.0.0.0:443/x",
			       "inproc://x" };

	for (size_t i = 0; i < sizeof remote / sizeof remote[0]; i++)
		CHECK_MSG(listener_url_is_plaintext_remote(remote[i]), "%s", remote[i]);
	for (size_t i = 0; i < sizeof fine / sizeof fine[0]; i++)
		CHECK_MSG(!listener_url_is_plaintext_remote(fine[i]), "%s", fine[i]);
}

static void every_setting_is_documented(void)
{
	FILE *f = fopen(FD_SOURCE_DIR "/docs/configuration.md", "r");
	static char doc[65536];
	size_t n;

	CHECK_MSG(f != NULL, "docs/configuration.md is missing");
	n = fread(doc, 1, sizeof doc - 1, f);
	fclose(f);
	doc[n] = '\0';
	for (int i = 0; i < CFG_COUNT; i++) {
		char needle[96];
		snprintf(needle, sizeof needle, "`%s`", fd_config_items[i].name);
		CHECK_MSG(strstr(doc, needle) != NULL,
			  "setting %s is not in docs/configuration.md", fd_config_items[i].name);
	}
}

static void config_precedence_is_flag_env_file_default(void)
{
	char err[256], path[] = "/tmp/fdcfgXXXXXX";
	int fd = mkstemp(path), rest_argc;
	char **rest;

	CHECK(fd >= 0);
	FILE *f = fdopen(fd, "w");
	fprintf(f, "# comment\nworkers = 7\nqueue_depth = 9\ncontexts = 11\n");
	fclose(f);
	setenv("FRONTDESK_QUEUE_DEPTH", "19", 1);
	char *argv[] = { "frontdeskd", "--config", path, "--contexts=21", "migrate", "up", NULL };
	CHECK(config_load(6, argv, &rest_argc, &rest, err, sizeof err) == 0);
	CHECK_INT(cfg_int(CFG_WORKERS), 7);      /* file */
	CHECK_INT(cfg_int(CFG_QUEUE_DEPTH), 19); /* env beats file */
	CHECK_INT(cfg_int(CFG_CONTEXTS), 21);    /* flag beats all */
	CHECK_INT(cfg_int(CFG_SESSION_IDLE_TIMEOUT_S), 900); /* default */
	CHECK_INT(rest_argc, 2);
	CHECK_STR(rest[0], "migrate");
	unsetenv("FRONTDESK_QUEUE_DEPTH");
	char *bad[] = { "frontdeskd", "--workers=many", NULL };
	CHECK(config_load(2, bad, &rest_argc, &rest, err, sizeof err) != 0);
	CHECK(strstr(err, "workers") != NULL);
	unlink(path);
	config_free();
}

static void tokens_are_64_hex_and_hash_stably(void)
{
	char tok[AUTH_TOKEN_HEX_LEN + 1];
	uint8_t h1[AUTH_HASH_LEN], h2[AUTH_HASH_LEN];

	CHECK(sodium_init() >= 0);
	auth_new_token(tok, h1);
	CHECK_INT(strlen(tok), 64);
	CHECK(auth_token_hash(tok, h2) == 0);
	CHECK(memcmp(h1, h2, sizeof h1) == 0);
	tok[5] = tok[5] == 'a' ? 'b' : 'a';
	CHECK(auth_token_hash(tok, h2) == 0);
	CHECK(memcmp(h1, h2, sizeof h1) != 0);
	CHECK(auth_token_hash("short", h2) != 0);
	CHECK(auth_token_hash("ZZ", h2) != 0);
}

static void passwords_verify_only_themselves(void)
{
	char err[128], hash[crypto_pwhash_STRBYTES];
	fd_status st;

	CHECK(sodium_init() >= 0);
	CHECK(config_set("password_hash_cost", "min", err, sizeof err) == 0);
	CHECK(auth_hash_password("correct horse", hash) == 0);
	CHECK(strncmp(hash, "$argon2id$", 10) == 0);
	CHECK(auth_verify_password(hash, "correct horse"));
	CHECK(!auth_verify_password(hash, "correct hors"));
	CHECK_INT(auth_password_policy("short", &st), FD_INVALID_ARGUMENT);
	CHECK_INT(auth_password_policy("long enough", &st), FD_OK);
	config_free();
}

static void shared_field_checks_agree_with_the_calendar_and_the_clinic(void)
{
	fd_ctx ctx = { 0 };

	CHECK_INT(fd_check_date(&ctx, "the date", "2024-02-29"), FD_OK);
	CHECK_INT(fd_check_date(&ctx, "the date", "2023-02-29"), FD_INVALID_ARGUMENT);
	CHECK_INT(fd_check_date(&ctx, "the date", "2026-02-30"), FD_INVALID_ARGUMENT);
	CHECK(strstr(ctx.status.message, "2026") == NULL); /* inputs are not echoed */
	CHECK_INT(fd_check_date(&ctx, "the date", "2026-4-1"), FD_INVALID_ARGUMENT);
	CHECK_INT(fd_check_text(&ctx, "the name", "Nguyễn", 1, 6, TEXT_TRIMMED), FD_OK);
	CHECK_INT(fd_check_text(&ctx, "the name", "Nguyễnn", 1, 6, 0), FD_INVALID_ARGUMENT);
	CHECK_INT(fd_check_text(&ctx, "the name", " Ann", 1, 60, TEXT_TRIMMED), FD_INVALID_ARGUMENT);
	CHECK_INT(fd_check_text(&ctx, "the note", "a\nb", 0, 60, TEXT_MULTILINE), FD_OK);
	CHECK_INT(fd_check_text(&ctx, "the name", "a\nb", 0, 60, 0), FD_INVALID_ARGUMENT);
	CHECK_INT(fd_check_text(&ctx, "the name", "\x1b[31m", 0, 60, 0), FD_INVALID_ARGUMENT);
	CHECK_INT(fd_check_text(&ctx, "the name", "", 1, 60, 0), FD_INVALID_ARGUMENT);
	CHECK_INT(fd_check_code(&ctx, "the code", "front-1"), FD_OK);
	CHECK_INT(fd_check_code(&ctx, "the code", "Front"), FD_INVALID_ARGUMENT);
	CHECK_INT(fd_check_code(&ctx, "the code", "-x"), FD_INVALID_ARGUMENT);
}

TH_MAIN(TH_CASE(shared_field_checks_agree_with_the_calendar_and_the_clinic),
	TH_CASE(sqlstates_map_to_grpc_codes), TH_CASE(every_setting_is_documented),
	TH_CASE(plaintext_urls_off_loopback_are_told_apart),
	TH_CASE(config_precedence_is_flag_env_file_default),
	TH_CASE(tokens_are_64_hex_and_hash_stably),
	TH_CASE(passwords_verify_only_themselves))
