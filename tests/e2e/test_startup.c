/*
 * Starting, configuring and reaching the server: it refuses a schema behind
 * its code and names the fix, refuses a bad configuration, reloads on
 * SIGHUP, and serves desks over tls+tcp:// with a verified certificate.
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

TH_MAIN(TH_CASE(the_server_refuses_a_schema_behind_its_code),
	TH_CASE(a_bad_setting_stops_the_start_with_a_message),
	TH_CASE(sighup_reloads_the_reloadable_settings),
	TH_CASE(desks_reach_the_server_over_verified_tls))
