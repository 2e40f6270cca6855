/*
 * What cmd_patients.c and cmd_patients_records.c share: the generated
 * types of the patients domain, the flag-table helper and the JSON form of
 * a patient. Single-threaded, like the CLI.
 */
#ifndef DESK_CMD_PATIENTS_H
#define DESK_CMD_PATIENTS_H

#include "output.h"
#include "settings.h"
#include "frontdesk/v1/insurance.pb-c.h"
#include "frontdesk/v1/intake.pb-c.h"
#include "frontdesk/v1/patients.pb-c.h"
#include "frontdesk/v1/records.pb-c.h"

#define countof(a) (sizeof(a) / sizeof((a)[0]))

#define DESK_COMMAND(noun, verb, args, summary, help, action, role, fn) \
	int fn(struct desk *d, int argc, char **argv);
#include "cmd_patients.def"
#undef DESK_COMMAND

/* {"id",...,"mrn",fields...,"version"}, or null. */
void pat_json_patient(struct desk_json *j, const char *key, const Frontdesk__V1__Patient *p);

#endif
