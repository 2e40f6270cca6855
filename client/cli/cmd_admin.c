/*
 * The admin verbs: `desk staff add|list|update|reset-password|unlock` and
 * `desk desks add|list`. Each is one Admin RPC; the server checks the admin
 * role, validates every value and owns all the rules (user name shape, the
 * role list, a desk's location), so this file only gathers flags, asks for
 * new passwords without echo, and prints what came back.
 */
#include <sodium.h>
#include <stdio.h>
#include <string.h>

#include "output.h"
#include "settings.h"
#include "frontdesk/v1/admin.pb-c.h"

#define countof(a) (sizeof(a) / sizeof((a)[0]))

static const ProtobufCServiceDescriptor *const admin =
	&frontdesk__v1__admin__descriptor;

/* --- printing -------------------------------------------------------- */

static const char *yes_no(bool b)
{
	return b ? "yes" : "no";
}

static void json_staff_record(struct desk_json *j, const char *key,
			      const Frontdesk__V1__StaffRecord *r)
{
	if (!r) {
		json_null(j, key);
		return;
	}
	json_object(j, key);
	json_staff_summary(j, "staff", r->staff);
	json_bool(j, "active", r->active);
	json_bool(j, "locked", r->locked);
	json_int(j, "created_unix_ms", r->created_unix_ms);
	json_object_end(j);
}

static void json_desk(struct desk_json *j, const char *key,
		      const Frontdesk__V1__Desk *desk)
{
	if (!desk) {
		json_null(j, key);
		return;
	}
	json_object(j, key);
	json_int(j, "id", desk->id);
	json_string(j, "code", desk->code);
	json_string(j, "name", desk->name);
	json_string(j, "location", desk->location);
	json_bool(j, "active", desk->active);
	json_object_end(j);
}

/* "#12 ada (Ada Lovelace), roles admin, front_desk" */
static void print_staff_line(const Frontdesk__V1__StaffSummary *s)
{
	printf("#%lld ", (long long)s->id);
	desk_print_text(stdout, s->username);
	fputs(" (", stdout);
	desk_print_text(stdout, s->display_name);
	fputs("), roles ", stdout);
	desk_print_roles(stdout, s->roles, s->n_roles);
}

/* Roles joined with ", " for a table cell (escaped later by the table). */
static void join_roles(char *buf, size_t size, char *const *roles, size_t n)
{
	size_t used = 0;

	buf[0] = '\0';
	for (size_t i = 0; i < n && used < size; i++)
		used += (size_t)snprintf(buf + used, size - used, "%s%s",
					 i ? "," : "", roles[i]);
}

static void print_staff_table(Frontdesk__V1__StaffRecord *const *staff,
			      size_t n)
{
	struct desk_table t;

	desk_table_init(&t, 7, "ID", "USER", "NAME", "ROLES", "ACTIVE",
			"LOCKED", "CREATED");
	for (size_t i = 0; i < n; i++) {
		const Frontdesk__V1__StaffRecord *r = staff[i];
		const Frontdesk__V1__StaffSummary *s = r->staff;
		char id[24], roles[256], created[64];

		if (!s)
			continue;
		snprintf(id, sizeof id, "%lld", (long long)s->id);
		join_roles(roles, sizeof roles, s->roles, s->n_roles);
		desk_format_time(created, sizeof created, r->created_unix_ms);
		desk_table_row(&t, id, s->username, s->display_name, roles,
			       yes_no(r->active), yes_no(r->locked), created);
	}
	desk_table_print(&t, stdout);
	desk_table_free(&t);
}

static void print_desk_table(Frontdesk__V1__Desk *const *desks, size_t n)
{
	struct desk_table t;

	desk_table_init(&t, 5, "ID", "CODE", "NAME", "LOCATION", "ACTIVE");
	for (size_t i = 0; i < n; i++) {
		char id[24];

		snprintf(id, sizeof id, "%lld", (long long)desks[i]->id);
		desk_table_row(&t, id, desks[i]->code, desks[i]->name,
			       desks[i]->location, yes_no(desks[i]->active));
	}
	desk_table_print(&t, stdout);
	desk_table_free(&t);
}

/* --- staff add ------------------------------------------------------- */

int cmd_staff_add(struct desk *d, int argc, char **argv)
{
	Frontdesk__V1__CreateStaffRequest req =
		FRONTDESK__V1__CREATE_STAFF_REQUEST__INIT;
	const char *user = NULL, *name = NULL;
	struct desk_list roles = { 0 };
	bool from_stdin = false;
	char password[DESK_PASSWORD_MAX], prompt[128];
	Frontdesk__V1__CreateStaffReply *r;
	ProtobufCMessage *reply;
	int rc;
	const struct desk_flag flags[] = {
		{ "user", DESK_FLAG_TEXT, &user, "NAME",
		  "login name: a-z, 0-9, '.', '_', '-'" },
		{ "name", DESK_FLAG_TEXT, &name, "TEXT",
		  "display name, as colleagues know them" },
		{ "role", DESK_FLAG_LIST, &roles, "ROLE",
		  "admin, front_desk, billing, nurse or provider" },
		{ "password-stdin", DESK_FLAG_SWITCH, &from_stdin, NULL,
		  "read the new password from the first line of stdin" },
	};

	if ((rc = desk_parse_flags(d, flags, countof(flags), argc, argv)) != DESK_GO)
		return rc;
	if (!user || !user[0])
		return desk_usage(d, "missing --user NAME");
	if (!name || !name[0])
		return desk_usage(d, "missing --name TEXT");
	if (roles.n == 0)
		return desk_usage(d, "missing --role ROLE (at least one)");
	if ((rc = desk_connect(d, true)) != 0)
		return rc;
	snprintf(prompt, sizeof prompt, "New password for %s: ", user);
	if ((rc = desk_read_password(d, from_stdin, "FRONTDESK_NEW_PASSWORD",
				     prompt, true, password, sizeof password)))
		return rc;

	req.username = (char *)user;
	req.display_name = (char *)name;
	req.password = password;
	req.n_roles = roles.n;
	req.roles = (char **)roles.items;
	rc = desk_call(d, admin, "CreateStaff", &req.base, &reply);
	sodium_memzero(password, sizeof password);
	if (rc != 0)
		return rc;

	r = (Frontdesk__V1__CreateStaffReply *)reply;
	if (d->json) {
		struct desk_json j;
		json_begin(&j, stdout);
		json_staff_summary(&j, "staff", r->staff);
		json_end(&j);
	} else if (r->staff) {
		fputs("Created staff ", stdout);
		print_staff_line(r->staff);
		fputs(".\n", stdout);
	}
	protobuf_c_message_free_unpacked(reply, NULL);
	return 0;
}

/* --- staff list ------------------------------------------------------ */

int cmd_staff_list(struct desk *d, int argc, char **argv)
{
	Frontdesk__V1__ListStaffRequest req =
		FRONTDESK__V1__LIST_STAFF_REQUEST__INIT;
	Frontdesk__V1__ListStaffReply *r;
	ProtobufCMessage *reply;
	bool all = false;
	int rc;
	const struct desk_flag flags[] = {
		{ "all", DESK_FLAG_SWITCH, &all, NULL,
		  "include staff who are no longer active" },
	};

	if ((rc = desk_parse_flags(d, flags, countof(flags), argc, argv)) != DESK_GO)
		return rc;
	if ((rc = desk_connect(d, true)) != 0)
		return rc;
	req.include_inactive = all;
	if ((rc = desk_call(d, admin, "ListStaff", &req.base, &reply)) != 0)
		return rc;

	r = (Frontdesk__V1__ListStaffReply *)reply;
	if (d->json) {
		struct desk_json j;
		json_begin(&j, stdout);
		json_array(&j, "staff");
		for (size_t i = 0; i < r->n_staff; i++)
			json_staff_record(&j, NULL, r->staff[i]);
		json_array_end(&j);
		json_end(&j);
	} else {
		print_staff_table(r->staff, r->n_staff);
	}
	protobuf_c_message_free_unpacked(reply, NULL);
	return 0;
}

/* --- staff update ---------------------------------------------------- */

int cmd_staff_update(struct desk *d, int argc, char **argv)
{
	Frontdesk__V1__UpdateStaffRequest req =
		FRONTDESK__V1__UPDATE_STAFF_REQUEST__INIT;
	const char *id_text = NULL, *name = NULL, *active = NULL;
	struct desk_list roles = { 0 };
	Frontdesk__V1__UpdateStaffReply *r;
	ProtobufCMessage *reply;
	bool active_value = false;
	int rc;
	const struct desk_flag flags[] = {
		{ "id", DESK_FLAG_TEXT, &id_text, "N", "staff id (see `desk staff list`)" },
		{ "name", DESK_FLAG_TEXT, &name, "TEXT", "new display name" },
		{ "role", DESK_FLAG_LIST, &roles, "ROLE",
		  "the complete new set of roles" },
		{ "active", DESK_FLAG_TEXT, &active, "yes|no",
		  "no: the person can no longer log in" },
	};

	if ((rc = desk_parse_flags(d, flags, countof(flags), argc, argv)) != DESK_GO)
		return rc;
	if ((rc = desk_parse_id(d, "--id", id_text, &req.staff_id)) != 0)
		return rc;
	if (active && (rc = desk_parse_yes_no(d, "--active", active,
					      &active_value)) != 0)
		return rc;
	if (!(name && name[0]) && roles.n == 0 && !active)
		return desk_usage(d, "nothing to change: give --name, --role "
				     "or --active");
	if ((rc = desk_connect(d, true)) != 0)
		return rc;
	if (name)
		req.display_name = (char *)name;
	req.n_roles = roles.n;
	req.roles = (char **)roles.items;
	req.set_active = active != NULL;
	req.active = active_value;
	if ((rc = desk_call(d, admin, "UpdateStaff", &req.base, &reply)) != 0)
		return rc;

	r = (Frontdesk__V1__UpdateStaffReply *)reply;
	if (d->json) {
		struct desk_json j;
		json_begin(&j, stdout);
		json_staff_record(&j, "staff", r->staff);
		json_end(&j);
	} else if (r->staff && r->staff->staff) {
		fputs("Updated staff ", stdout);
		print_staff_line(r->staff->staff);
		printf("; active %s, locked %s.\n", yes_no(r->staff->active),
		       yes_no(r->staff->locked));
	}
	protobuf_c_message_free_unpacked(reply, NULL);
	return 0;
}

/* --- staff reset-password and unlock --------------------------------- */

/* Both answer with an empty message; the staff id is what to show. */
static void print_done(const struct desk *d, int64_t staff_id,
		       const char *what)
{
	if (d->json) {
		struct desk_json j;
		json_begin(&j, stdout);
		json_int(&j, "staff_id", staff_id);
		json_end(&j);
	} else {
		printf("%s staff #%lld.\n", what, (long long)staff_id);
	}
}

int cmd_staff_reset_password(struct desk *d, int argc, char **argv)
{
	Frontdesk__V1__ResetPasswordRequest req =
		FRONTDESK__V1__RESET_PASSWORD_REQUEST__INIT;
	char password[DESK_PASSWORD_MAX], prompt[128];
	const char *id_text = NULL;
	bool from_stdin = false;
	ProtobufCMessage *reply;
	int rc;
	const struct desk_flag flags[] = {
		{ "id", DESK_FLAG_TEXT, &id_text, "N", "staff id (see `desk staff list`)" },
		{ "password-stdin", DESK_FLAG_SWITCH, &from_stdin, NULL,
		  "read the new password from the first line of stdin" },
	};

	if ((rc = desk_parse_flags(d, flags, countof(flags), argc, argv)) != DESK_GO)
		return rc;
	if ((rc = desk_parse_id(d, "--id", id_text, &req.staff_id)) != 0)
		return rc;
	if ((rc = desk_connect(d, true)) != 0)
		return rc;
	snprintf(prompt, sizeof prompt, "New password for staff #%lld: ",
		 (long long)req.staff_id);
	if ((rc = desk_read_password(d, from_stdin, "FRONTDESK_NEW_PASSWORD",
				     prompt, true, password, sizeof password)))
		return rc;
	req.new_password = password;
	rc = desk_call(d, admin, "ResetPassword", &req.base, &reply);
	sodium_memzero(password, sizeof password);
	if (rc != 0)
		return rc;
	protobuf_c_message_free_unpacked(reply, NULL);
	print_done(d, req.staff_id, "Set a new password for");
	return 0;
}

int cmd_staff_unlock(struct desk *d, int argc, char **argv)
{
	Frontdesk__V1__UnlockStaffRequest req =
		FRONTDESK__V1__UNLOCK_STAFF_REQUEST__INIT;
	const char *id_text = NULL;
	ProtobufCMessage *reply;
	int rc;
	const struct desk_flag flags[] = {
		{ "id", DESK_FLAG_TEXT, &id_text, "N", "staff id (see `desk staff list`)" },
	};

	if ((rc = desk_parse_flags(d, flags, countof(flags), argc, argv)) != DESK_GO)
		return rc;
	if ((rc = desk_parse_id(d, "--id", id_text, &req.staff_id)) != 0)
		return rc;
	if ((rc = desk_connect(d, true)) != 0)
		return rc;
	if ((rc = desk_call(d, admin, "UnlockStaff", &req.base, &reply)) != 0)
		return rc;
	protobuf_c_message_free_unpacked(reply, NULL);
	print_done(d, req.staff_id, "Unlocked");
	return 0;
}

/* --- desks ----------------------------------------------------------- */

int cmd_desks_add(struct desk *d, int argc, char **argv)
{
	Frontdesk__V1__CreateDeskRequest req =
		FRONTDESK__V1__CREATE_DESK_REQUEST__INIT;
	const char *code = NULL, *name = NULL, *location = NULL;
	Frontdesk__V1__CreateDeskReply *r;
	ProtobufCMessage *reply;
	int rc;
	const struct desk_flag flags[] = {
		{ "code", DESK_FLAG_TEXT, &code, "CODE",
		  "short name typed at login, e.g. front-1" },
		{ "name", DESK_FLAG_TEXT, &name, "TEXT", "name shown to people" },
		{ "location", DESK_FLAG_TEXT, &location, "CODE",
		  "location code (default: the clinic's first location)" },
	};

	if ((rc = desk_parse_flags(d, flags, countof(flags), argc, argv)) != DESK_GO)
		return rc;
	if (!code || !code[0])
		return desk_usage(d, "missing --code CODE");
	if (!name || !name[0])
		return desk_usage(d, "missing --name TEXT");
	if ((rc = desk_connect(d, true)) != 0)
		return rc;
	req.code = (char *)code;
	req.name = (char *)name;
	if (location)
		req.location = (char *)location;
	if ((rc = desk_call(d, admin, "CreateDesk", &req.base, &reply)) != 0)
		return rc;

	r = (Frontdesk__V1__CreateDeskReply *)reply;
	if (d->json) {
		struct desk_json j;
		json_begin(&j, stdout);
		json_desk(&j, "desk", r->desk);
		json_end(&j);
	} else if (r->desk) {
		printf("Created desk #%lld ", (long long)r->desk->id);
		desk_print_text(stdout, r->desk->code);
		fputs(" (", stdout);
		desk_print_text(stdout, r->desk->name);
		fputs(") at location ", stdout);
		desk_print_text(stdout, r->desk->location);
		fputs(".\n", stdout);
	}
	protobuf_c_message_free_unpacked(reply, NULL);
	return 0;
}

int cmd_desks_list(struct desk *d, int argc, char **argv)
{
	Frontdesk__V1__ListDesksRequest req =
		FRONTDESK__V1__LIST_DESKS_REQUEST__INIT;
	Frontdesk__V1__ListDesksReply *r;
	ProtobufCMessage *reply;
	int rc;

	if ((rc = desk_parse_flags(d, NULL, 0, argc, argv)) != DESK_GO)
		return rc;
	if ((rc = desk_connect(d, true)) != 0)
		return rc;
	if ((rc = desk_call(d, admin, "ListDesks", &req.base, &reply)) != 0)
		return rc;

	r = (Frontdesk__V1__ListDesksReply *)reply;
	if (d->json) {
		struct desk_json j;
		json_begin(&j, stdout);
		json_array(&j, "desks");
		for (size_t i = 0; i < r->n_desks; i++)
			json_desk(&j, NULL, r->desks[i]);
		json_array_end(&j);
		json_end(&j);
	} else {
		print_desk_table(r->desks, r->n_desks);
	}
	protobuf_c_message_free_unpacked(reply, NULL);
	return 0;
}
