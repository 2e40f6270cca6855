/*
 * Starting, configuring and reaching the server: it refuses a schema behind
 * its code and names the fix, refuses a bad configuration, reloads on
 * SIGHUP, serves desks over tls+tcp:// with a verified certificate, refuses
 * plaintext on a non-loopback address unless allow_plaintext_remote says
 * so (and then warns), and refuses a db_role it cannot act as.
 */
#include "e2e.h"

#include <signal.h>

static void read_file(const char *path, char *buf, size_t size)
{
	FILE *f = fopen(path, "r");
	size_t n = 0;

	if (f) {
		n = fread(buf, 1, size - 1, f);
		fclose(f);
	}
	buf[n] = '\0';
}

static void the_server_refuses_a_schema_behind_its_code(void)
{
	char db[64], cmd[1024], log[4096];

	tp_db_create(db, sizeof db, "behind");
	snprintf(cmd, sizeof cmd,
		 "%s --listen=ipc:///tmp/fdt-behind-%d.sock --events-listen=ipc:///tmp/fdt-behind-ev-%d.sock"
		 " serve 2>/tmp/fdt-behind-%d.log",
		 tp_bin("frontdeskd"), (int)getpid(), (int)getpid(), (int)getpid());
	CHECK_INT(tp_run(db, cmd), 78); /* EX_CONFIG */
	snprintf(cmd, sizeof cmd, "/tmp/fdt-behind-%d.log", (int)getpid());
	read_file(cmd, log, sizeof log);
	CHECK_MSG(strstr(log, "frontdeskd migrate up") != NULL, "log: %s", log);
	unlink(cmd);
}

static void a_bad_setting_stops_the_start_with_a_message(void)
{
	char cmd[512];

	snprintf(cmd, sizeof cmd, "%s --workers=many serve 2>/dev/null", tp_bin("frontdeskd"));
	CHECK_INT(tp_run("postgres", cmd), 78);
	snprintf(cmd, sizeof cmd, "%s no-such-command 2>/dev/null", tp_bin("frontdeskd"));
	CHECK_INT(tp_run("postgres", cmd), 64);
}

static uint32_t idle_timeout_seen(fd_client *c)
{
	Frontdesk__V1__WhoAmIRequest req = FRONTDESK__V1__WHO_AM_IREQUEST__INIT;
	ProtobufCMessage *rep = NULL;
	fd_status st;
	uint32_t v = 0;

	if (tp_call(c, AUTH_SVC, "WhoAmI", &req.base, &rep, &st) == FD_OK) {
		v = ((Frontdesk__V1__WhoAmIReply *)rep)->idle_timeout_s;
		protobuf_c_message_free_unpacked(rep, NULL);
	}
	return v;
}

static void sighup_reloads_the_reloadable_settings(void)
{
	char db[64], path[64], flag[96];
	tp_server s = { 0 };

	snprintf(path, sizeof path, "/tmp/fdt-%d.conf", (int)getpid());
	FILE *f = fopen(path, "w");
	CHECK(f != NULL);
	fprintf(f, "# test settings\nsession_idle_timeout_s = 900\n");
	fclose(f);
	snprintf(flag, sizeof flag, "--config=%s", path);
	const char *extra[] = { flag, NULL };
	CHECK(e2e_start(&s, db, sizeof db, "hup", extra));
	fd_client *c = tp_client(&s);
	CHECK_INT(tp_login(c, "reception1", "front-1"), FD_OK);
	CHECK_INT(idle_timeout_seen(c), 900);
	f = fopen(path, "w");
	fprintf(f, "session_idle_timeout_s = 600\n");
	fclose(f);
	kill(s.pid, SIGHUP);
	uint32_t seen = 0;
	for (int i = 0; i < 40 && seen != 600; i++) {
		e2e_sleep_ms(50);
		seen = idle_timeout_seen(c);
	}
	CHECK_INT(seen, 600);
	fd_client_close(c);
	unlink(path);
	e2e_stop(&s);
}

static void desks_reach_the_server_over_verified_tls(void)
{
	char db[64], cmd[1024], dir[64], cert[128], key[128], cfg_cert[160], cfg_key[160];
	tp_server s = { 0 };
	fd_status st;

	snprintf(dir, sizeof dir, "/tmp/fdt-tls-%d", (int)getpid());
	snprintf(cmd, sizeof cmd,
		 "mkdir -p %s && openssl req -x509 -newkey rsa:2048 -nodes -days 2"
		 " -subj /CN=localhost -addext subjectAltName=DNS:localhost,IP:127.0.0.1"
		 " -keyout %s/key.pem -out %s/cert.pem >/dev/null 2>&1",
		 dir, dir, dir);
	CHECK_INT(system(cmd), 0);
	snprintf(cert, sizeof cert, "%s/cert.pem", dir);
	snprintf(key, sizeof key, "%s/key.pem", dir);
	snprintf(cfg_cert, sizeof cfg_cert, "--tls-cert-file=%s", cert);
	snprintf(cfg_key, sizeof cfg_key, "--tls-key-file=%s", key);
	const char *extra[] = { cfg_cert, cfg_key, NULL };
	int port = 20000 + (int)(getpid() % 20000);
	char tls_url[96];
	snprintf(tls_url, sizeof tls_url, "tls+tcp://127.0.0.1:%d", port);
	memset(&s, 0, sizeof s);
	snprintf(s.extra_listen, sizeof s.extra_listen, "%s", tls_url);
	CHECK(e2e_start(&s, db, sizeof db, "tls", extra));

	fd_client_options o = { .url = tls_url, .timeout_ms = 5000, .tls_ca_file = cert,
				.tls_server_name = "localhost" };
	fd_client *c = NULL;
	int rc = FD_UNAVAILABLE;
	for (int i = 0; i < 40 && rc != FD_OK; i++) {
		rc = fd_client_open(&c, &o, &st);
		if (rc != FD_OK)
			e2e_sleep_ms(100);
	}
	CHECK_MSG(rc == FD_OK, "tls open: %s", st.message);
	CHECK_INT(call_ping(c, &st), FD_OK);
	CHECK_INT(tp_login(c, "reception1", "front-1"), FD_OK);
	CHECK_INT(call_whoami(c, &st), FD_OK);
	fd_client_close(c);
	e2e_stop(&s);
	snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
	CHECK_INT(system(cmd), 0);
}

/* Runs `frontdeskd serve` with flags against db; returns its exit status
 * and leaves its log in log. A server that starts when it should refuse is
 * stopped after 20 s (exit 124), failing the check rather than hanging. */
static int serve_and_read_log(const char *db, const char *flags, char *log, size_t size)
{
	char cmd[1024], path[96];

	snprintf(path, sizeof path, "/tmp/fdt-start-%d.log", (int)getpid());
	snprintf(cmd, sizeof cmd,
		 "timeout 20 %s --events-listen=ipc:///tmp/fdt-start-ev-%d.sock %s serve 2>%s",
		 tp_bin("frontdeskd"), (int)getpid(), flags, path);
	int rc = tp_run(db, cmd);
	read_file(path, log, size);
	unlink(path);
	return rc;
}

static void plaintext_on_a_network_address_is_refused_without_the_flag(void)
{
	char db[64], flags[256], log[4096];
	const char *remote[] = { "tcp://0.0.0.0", "tcp://*", "tcp://", "tcp://192.0.2.1",
				 "tcp://[::]", "ws://0.0.0.0" };
	int port = 20000 + (int)((getpid() + 7) % 20000);

	tp_db_create_ready(db, sizeof db, "plain");
	for (size_t i = 0; i < sizeof remote / sizeof remote[0]; i++) {
		char url[64];
		snprintf(url, sizeof url, "%s:%d", remote[i], port);
		snprintf(flags, sizeof flags, "--listen=ipc:///tmp/fdt-plain-%d.sock,%s",
			 (int)getpid(), url);
		CHECK_INT(serve_and_read_log(db, flags, log, sizeof log), 69); /* EX_UNAVAILABLE */
		CHECK_MSG(strstr(log, "refusing to listen on") && strstr(log, "allow_plaintext_remote"),
			  "%s: log: %s", url, log);
	}
}

static void plaintext_on_a_network_address_with_the_flag_warns(void)
{
	char db[64], flag[] = "--allow-plaintext-remote=1", log[16384], url[64];
	const char *extra[] = { flag, NULL };
	tp_server s = { 0 };
	fd_status st;
	int port = 20000 + (int)((getpid() + 11) % 20000);

	snprintf(s.extra_listen, sizeof s.extra_listen, "tcp://0.0.0.0:%d", port);
	CHECK(e2e_start(&s, db, sizeof db, "plainok", extra));
	snprintf(url, sizeof url, "tcp://127.0.0.1:%d", port);
	fd_client_options o = { .url = url, .timeout_ms = 5000 };
	fd_client *c = NULL;
	CHECK_INT(fd_client_open(&c, &o, &st), FD_OK);
	CHECK_INT(call_ping(c, &st), FD_OK);
	fd_client_close(c);
	e2e_stop(&s);
	read_file(s.log_path, log, sizeof log);
	CHECK_MSG(strstr(log, "without encryption (allow_plaintext_remote = 1)") != NULL, "log: %s", log);
}

static void plaintext_on_loopback_needs_no_flag(void)
{
	char db[64], log[16384], url[64];
	tp_server s = { 0 };
	fd_status st;
	int port = 20000 + (int)((getpid() + 13) % 20000);

	snprintf(s.extra_listen, sizeof s.extra_listen, "tcp://127.0.0.1:%d,tcp://localhost:%d",
		 port, port + 1);
	CHECK(e2e_start(&s, db, sizeof db, "loop", NULL));
	snprintf(url, sizeof url, "tcp://127.0.0.1:%d", port);
	fd_client_options o = { .url = url, .timeout_ms = 5000 };
	fd_client *c = NULL;
	CHECK_INT(fd_client_open(&c, &o, &st), FD_OK);
	CHECK_INT(call_ping(c, &st), FD_OK);
	fd_client_close(c);
	e2e_stop(&s);
	read_file(s.log_path, log, sizeof log);
	CHECK_MSG(strstr(log, "without encryption") == NULL, "log: %s", log);
}

static void a_db_role_the_server_cannot_act_as_stops_the_start(void)
{
	char db[64], flags[256], log[4096];

	tp_db_create_ready(db, sizeof db, "norole");
	snprintf(flags, sizeof flags, "--listen=ipc:///tmp/fdt-norole-%d.sock --db-role=no_such_role",
		 (int)getpid());
	CHECK_INT(serve_and_read_log(db, flags, log, sizeof log), 78); /* EX_CONFIG */
	CHECK_MSG(strstr(log, "cannot act as database role no_such_role") != NULL, "log: %s", log);
}

TH_MAIN(TH_CASE(the_server_refuses_a_schema_behind_its_code),
	TH_CASE(plaintext_on_a_network_address_is_refused_without_the_flag),
	TH_CASE(plaintext_on_a_network_address_with_the_flag_warns),
	TH_CASE(plaintext_on_loopback_needs_no_flag),
	TH_CASE(a_db_role_the_server_cannot_act_as_stops_the_start),
	TH_CASE(a_bad_setting_stops_the_start_with_a_message),
	TH_CASE(sighup_reloads_the_reloadable_settings),
	TH_CASE(desks_reach_the_server_over_verified_tls))
