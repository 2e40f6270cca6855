/*
 * SQLSTATE → status, in one table. The client gets a short message that
 * names the rule that was broken (for constraints we know) but never the SQL,
 * the server's text or any value; those go to the server log at most.
 */
#include "db.h"

#include <stdio.h>
#include <string.h>

/* Constraint names the client may hear about, in the clinic's words. */
static const struct {
	const char *constraint;
	const char *message;
} known_constraints[] = {
	{ "staff_username_key", "a staff member with that user name already exists" },
	{ "desks_code_key", "a desk with that code already exists" },
	{ "locations_code_key", "a location with that code already exists" },
	{ "staff_username_check", "user names are 1-64 lowercase letters, digits, '.', '_' or '-'" },
	{ "desks_code_check", "desk codes are 1-32 lowercase letters, digits, '.', '_' or '-'" },
	{ "staff_display_name_check", "display names are 1-200 characters" },
	{ "desks_name_check", "desk names are 1-200 characters" },
	{ "appointments_provider_no_overlap", "that slot was just taken; search again for the next free slots" },
	{ "appointment_resources_no_overlap", "that room was just taken; search again for the next free slots" },
	{ "waitlist_entries_live_key", "the patient is already on the waitlist for this type" },
	{ "waitlist_offer_resources_no_overlap", "that room is already held for another waitlist offer" },
	{ "appointments_status_move", "the appointment cannot move to that status" },
	{ "visits_status_move", "the visit cannot move to that status" },
	{ "visits_one_open_per_appointment", "that appointment already has an open visit" },
	{ "visits_one_open_per_patient", "that patient already has an open visit; close it first" },
	{ "visits_one_patient_per_room", "that room was just taken" },
	{ "payments_refund_limit", "refunds cannot exceed the payment" },
	{ "holidays_day_key", "that location already has a holiday on that day" },
	{ "resources_code_key", "a room with that code already exists" },
	{ "availability_templates_provider_id_location_id_fkey", "the provider still has weekly hours at that location" },
	{ "insurance_policies_priority_key", "the patient already has an active policy with that priority" },
	{ "insurance_policies_dates_check", "a policy cannot end before it starts" },
	{ "patients_birth_date_not_future", "the date of birth must not be in the future" },
	{ "refill_requests_status_step", "a refill request cannot take that step from its current status" },
	{ "intake_forms_code_version_key", "that form version was defined at the same moment; try again" },
	{ "phone_rules_priority_key", "another routing rule has that priority" },
	{ "phone_rules_name_key", "a routing rule with that name already exists" },
	{ "phone_lines_number_e164_key", "another phone line has that number" },
	{ "phone_lines_code_key", "a phone line with that code already exists" },
};

static const struct {
	const char *prefix; /* SQLSTATE or class (2 chars) */
	int code;
	const char *message;
} sqlstate_map[] = {
	{ "23505", FD_ALREADY_EXISTS, "that record already exists" },
	{ "23P01", FD_ALREADY_EXISTS, "that time is already taken" },
	{ "23503", FD_FAILED_PRECONDITION, "a record it refers to does not exist or is still in use" },
	{ "23502", FD_INVALID_ARGUMENT, "a required value is missing" },
	{ "23514", FD_INVALID_ARGUMENT, "a value is outside what is allowed" },
	{ "22", FD_INVALID_ARGUMENT, "a value has the wrong form" },
	{ "40001", FD_ABORTED, "the change collided with another; try again" },
	{ "40P01", FD_ABORTED, "the change collided with another; try again" },
	{ "55P03", FD_ABORTED, "the record is busy; try again" },
	{ "57014", FD_DEADLINE_EXCEEDED, "the call ran out of time in the database" },
	{ "57P01", FD_UNAVAILABLE, "the database is restarting; try again shortly" },
	{ "57P02", FD_UNAVAILABLE, "the database is restarting; try again shortly" },
	{ "57P03", FD_UNAVAILABLE, "the database is starting up; try again shortly" },
	{ "08", FD_UNAVAILABLE, "the database is unreachable; try again shortly" },
	{ "53", FD_UNAVAILABLE, "the database is out of resources; try again shortly" },
	{ "42501", FD_PERMISSION_DENIED, "the database refused the change" },
	{ "P0001", FD_FAILED_PRECONDITION, "the change breaks a clinic rule" },
};

int db_status_from_sqlstate(const char *sqlstate, const char *constraint,
			    fd_status *st)
{
	if (!sqlstate || !*sqlstate)
		return fd_fail(st, FD_UNAVAILABLE,
			       "the database is unreachable; try again shortly");
	for (size_t i = 0; i < sizeof sqlstate_map / sizeof sqlstate_map[0]; i++) {
		size_t n = strlen(sqlstate_map[i].prefix);
		if (strncmp(sqlstate, sqlstate_map[i].prefix, n) != 0)
			continue;
		const char *msg = sqlstate_map[i].message;
		if (constraint && sqlstate[0] == '2' && sqlstate[1] == '3') {
			for (size_t k = 0; k < sizeof known_constraints /
							sizeof known_constraints[0];
			     k++)
				if (strcmp(constraint,
					   known_constraints[k].constraint) == 0)
					msg = known_constraints[k].message;
		}
		return fd_fail(st, sqlstate_map[i].code, "%s", msg);
	}
	return fd_fail(st, FD_INTERNAL, "internal error; the server log has details");
}
