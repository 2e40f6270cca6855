/*
 * Shared setup for end-to-end tests: a fresh migrated and seeded database
 * and the real frontdeskd started on it, plus small call helpers. Each test
 * binary includes this once.
 */
#ifndef FD_TEST_E2E_H
#define FD_TEST_E2E_H

#include <pthread.h>
#include <stdlib.h>
#include <unistd.h>

#include "harness.h"
#include "pg.h"
#include "server_proc.h"
#include "frontdesk/v1/admin.pb-c.h"
#include "frontdesk/v1/auth.pb-c.h"
#include "frontdesk/v1/health.pb-c.h"
#include "frontdesk/v1/patients.pb-c.h"

#define ADMIN_SVC (&frontdesk__v1__admin__descriptor)
#define AUTH_SVC (&frontdesk__v1__auth__descriptor)
#define HEALTH_SVC (&frontdesk__v1__health__descriptor)

/* Starts a server on a fresh database; fails the test (returns false) when
 * it cannot. */
static inline bool e2e_start(tp_server *s, char *db, size_t dbsize, const char *tag,
			     const char *const *extra)
{
	tp_db_create_ready(db, dbsize, tag);
	if (tp_server_start(s, db, extra) != 0) {
		th_fail(__FILE__, __LINE__, "frontdeskd did not start");
		return false;
	}
	return true;
}

/* Stops the server and checks it exited 0 (dumps its log otherwise). */
static inline void e2e_stop(tp_server *s)
{
	int rc = tp_server_stop(s);
	if (rc != 0) {
		tp_server_dump_log(s);
		th_fail(__FILE__, __LINE__, "frontdeskd exited %d, not 0", rc);
	}
	if (th_failed())
		tp_server_dump_log(s);
}

static inline int call_create_desk(fd_client *c, const char *code, int64_t *id,
				   fd_status *st)
{
	Frontdesk__V1__CreateDeskRequest req = FRONTDESK__V1__CREATE_DESK_REQUEST__INIT;
	ProtobufCMessage *rep = NULL;

	req.code = (char *)code;
	req.name = "A desk";
	int rc = tp_call(c, ADMIN_SVC, "CreateDesk", &req.base, &rep, st);
	if (rc == FD_OK) {
		if (id)
			*id = ((Frontdesk__V1__CreateDeskReply *)rep)->desk->id;
		protobuf_c_message_free_unpacked(rep, NULL);
	}
	return rc;
}

/* Renames a patient's family name through the desk; expected_version 0
 * skips the version check. */
static inline int call_rename_family(fd_client *c, int64_t id, const char *family,
				     int expected_version, fd_status *st)
{
	Frontdesk__V1__UpdatePatientRequest req = FRONTDESK__V1__UPDATE_PATIENT_REQUEST__INIT;
	Frontdesk__V1__PatientFields f = FRONTDESK__V1__PATIENT_FIELDS__INIT;
	ProtobufCMessage *rep = NULL;
	char *mask[] = { "family_name" };

	f.family_name = (char *)family;
	req.patient_id = id;
	req.fields = &f;
	req.update_mask = mask;
	req.n_update_mask = 1;
	req.expected_version = expected_version;
	int rc = tp_call(c, &frontdesk__v1__patients__descriptor, "UpdatePatient", &req.base,
			 &rep, st);
	if (rep)
		protobuf_c_message_free_unpacked(rep, NULL);
	return rc;
}

static inline int call_whoami(fd_client *c, fd_status *st)
{
	Frontdesk__V1__WhoAmIRequest req = FRONTDESK__V1__WHO_AM_IREQUEST__INIT;
	ProtobufCMessage *rep = NULL;
	int rc = tp_call(c, AUTH_SVC, "WhoAmI", &req.base, &rep, st);

	if (rep)
		protobuf_c_message_free_unpacked(rep, NULL);
	return rc;
}

static inline int call_ping(fd_client *c, fd_status *st)
{
	Frontdesk__V1__PingRequest req = FRONTDESK__V1__PING_REQUEST__INIT;
	ProtobufCMessage *rep = NULL;
	int rc = tp_call(c, HEALTH_SVC, "Ping", &req.base, &rep, st);

	if (rep)
		protobuf_c_message_free_unpacked(rep, NULL);
	return rc;
}

static inline void e2e_sleep_ms(int ms)
{
	usleep((useconds_t)ms * 1000);
}

#endif
