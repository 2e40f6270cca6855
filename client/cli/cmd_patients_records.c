/*
 * The insurance and records verbs: `desk insurance add|list|verify|card`,
 * `desk vaccine add|list` and `desk refill add|list|update`. Money is typed
 * as dollars ("25", "25.00") and sent as integer cents; a negative amount
 * or a fraction of a cent is refused here before any call. Card images are
 * read from and written to files; the server checks their type by content.
 */
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cmd_patients.h"

/* The server's limit (patients_insurance.c); checked here to say so before
 * a large upload is sent at all. */
#define CARD_MAX_BYTES (768 * 1024)

static const ProtobufCServiceDescriptor *const insurance_svc = &frontdesk__v1__insurance__descriptor;
static const ProtobufCServiceDescriptor *const records_svc = &frontdesk__v1__records__descriptor;

/* "25", "25.5", "25.00" → cents. Returns 0 or a usage exit code. */
static int parse_money(struct desk *d, const char *flag, const char *text, int64_t *cents)
{
	const char *p = text;
	int64_t whole = 0, frac = 0;
	int digits = 0, decimals = 0;

	if (*p == '$')
		p++;
	for (; isdigit((unsigned char)*p) && digits < 9; p++, digits++)
		whole = whole * 10 + (*p - '0');
	if (*p == '.')
		for (p++; isdigit((unsigned char)*p) && decimals < 3; p++, decimals++)
			frac = frac * 10 + (*p - '0');
	if (digits == 0 || *p || decimals > 2)
		return desk_usage(d, "%s takes an amount like 25 or 25.00 (no negative amounts,"
				     " no fractions of a cent), not '%s'", flag, text);
	*cents = whole * 100 + (decimals == 1 ? frac * 10 : frac);
	return 0;
}

static void format_money(char *buf, size_t size, int64_t cents)
{
	snprintf(buf, size, "%s%lld.%02lld", cents < 0 ? "-" : "", llabs(cents) / 100,
		 llabs(cents) % 100);
}

/* --- insurance ------------------------------------------------------- */

static void json_policy(struct desk_json *j, const char *key, const Frontdesk__V1__InsurancePolicy *p)
{
	if (!p) {
		json_null(j, key);
		return;
	}
	json_object(j, key);
	json_int(j, "id", p->id);
	json_int(j, "patient_id", p->patient_id);
	json_string(j, "payer", p->payer);
	json_string(j, "plan", p->plan);
	json_string(j, "member_id", p->member_id);
	json_string(j, "group_number", p->group_number);
	json_string(j, "subscriber_name", p->subscriber_name);
	json_string(j, "subscriber_relationship", p->subscriber_relationship);
	json_string(j, "priority", p->priority);
	json_string(j, "effective_from", p->effective_from);
	json_string(j, "effective_until", p->effective_until);
	json_bool(j, "active", p->active);
	json_array(j, "copays");
	for (size_t i = 0; i < p->n_copays; i++) {
		json_object(j, NULL);
		json_string(j, "visit_type", p->copays[i]->visit_type);
		json_int(j, "copay_cents", p->copays[i]->copay_cents);
		json_object_end(j);
	}
	json_array_end(j);
	json_int(j, "last_verified_unix_ms", p->last_verified_unix_ms);
	json_string(j, "last_verified_by", p->last_verified_by);
	json_bool(j, "has_card_front", p->has_card_front);
	json_bool(j, "has_card_back", p->has_card_back);
	json_object_end(j);
}

static void print_policies(Frontdesk__V1__InsurancePolicy *const *list, size_t n)
{
	struct desk_table t;

	desk_table_init(&t, 9, "ID", "PRIORITY", "PAYER", "MEMBER", "FROM", "UNTIL", "COPAYS",
			"VERIFIED", "CARD");
	for (size_t i = 0; i < n; i++) {
		const Frontdesk__V1__InsurancePolicy *p = list[i];
		char id[24], copays[256] = "", verified[96], card[16], money[32];
		snprintf(id, sizeof id, "%lld%s", (long long)p->id, p->active ? "" : " (ended)");
		for (size_t k = 0; k < p->n_copays; k++) {
			format_money(money, sizeof money, p->copays[k]->copay_cents);
			snprintf(copays + strlen(copays), sizeof copays - strlen(copays), "%s%s %s",
				 k ? ", " : "", p->copays[k]->visit_type, money);
		}
		desk_format_time(verified, sizeof verified, p->last_verified_unix_ms);
		if (p->last_verified_unix_ms)
			snprintf(verified + strlen(verified), sizeof verified - strlen(verified),
				 " by %s", p->last_verified_by);
		snprintf(card, sizeof card, "%s%s", p->has_card_front ? "front " : "",
			 p->has_card_back ? "back" : "");
		desk_table_row(&t, id, p->priority, p->payer, p->member_id, p->effective_from,
			       p->effective_until, copays, verified, card);
	}
	desk_table_print(&t, stdout);
	desk_table_free(&t);
}

int cmd_insurance_add(struct desk *d, int argc, char **argv)
{
	Frontdesk__V1__AddPolicyRequest req = FRONTDESK__V1__ADD_POLICY_REQUEST__INIT;
	Frontdesk__V1__InsurancePolicy pol = FRONTDESK__V1__INSURANCE_POLICY__INIT;
	Frontdesk__V1__Copay copays[DESK_LIST_MAX], *copay_list[DESK_LIST_MAX];
	const char *patient = NULL, *payer = NULL, *plan = NULL, *member = NULL, *group = NULL,
		   *subscriber = NULL, *relationship = NULL, *priority = NULL, *from = NULL,
		   *until = NULL;
	struct desk_list copay_flags = { 0 };
	char types[DESK_LIST_MAX][64];
	ProtobufCMessage *reply;
	int rc;
	const struct desk_flag flags[] = {
		{ "patient", DESK_FLAG_TEXT, &patient, "N", "patient id" },
		{ "payer", DESK_FLAG_TEXT, &payer, "NAME", "insurance company" },
		{ "plan", DESK_FLAG_TEXT, &plan, "NAME", "plan name" },
		{ "member-id", DESK_FLAG_TEXT, &member, "ID", "member id on the card" },
		{ "group", DESK_FLAG_TEXT, &group, "NUMBER", "group number" },
		{ "subscriber", DESK_FLAG_TEXT, &subscriber, "NAME", "policy holder, if not the patient" },
		{ "relationship", DESK_FLAG_TEXT, &relationship, "REL", "self, spouse, child or other" },
		{ "priority", DESK_FLAG_TEXT, &priority, "P", "primary, secondary or tertiary" },
		{ "from", DESK_FLAG_TEXT, &from, "YYYY-MM-DD", "effective date" },
		{ "until", DESK_FLAG_TEXT, &until, "YYYY-MM-DD", "end date, if known" },
		{ "copay", DESK_FLAG_LIST, &copay_flags, "TYPE=AMOUNT",
		  "copay for a visit type, e.g. new=40.00 (repeatable)" },
	};

	if ((rc = desk_parse_flags(d, flags, countof(flags), argc, argv)) != DESK_GO)
		return rc;
	if ((rc = desk_parse_id(d, "--patient", patient, &pol.patient_id)) != 0)
		return rc;
	if (!payer || !member || !priority || !from)
		return desk_usage(d, "give --payer, --member-id, --priority and --from");
	for (size_t i = 0; i < copay_flags.n; i++) {
		const char *eq = strchr(copay_flags.items[i], '=');
		size_t len = eq ? (size_t)(eq - copay_flags.items[i]) : 0;
		if (!eq || len == 0 || len >= sizeof types[i])
			return desk_usage(d, "--copay takes TYPE=AMOUNT, e.g. new=40.00");
		frontdesk__v1__copay__init(&copays[i]);
		memcpy(types[i], copay_flags.items[i], len);
		types[i][len] = '\0';
		copays[i].visit_type = types[i];
		if ((rc = parse_money(d, "--copay", eq + 1, &copays[i].copay_cents)) != 0)
			return rc;
		copay_list[i] = &copays[i];
	}
	if ((rc = desk_connect(d, true)) != 0)
		return rc;
	pol.payer = (char *)payer;
	pol.plan = (char *)(plan ? plan : "");
	pol.member_id = (char *)member;
	pol.group_number = (char *)(group ? group : "");
	pol.subscriber_name = (char *)(subscriber ? subscriber : "");
	pol.subscriber_relationship = (char *)(relationship ? relationship : "");
	pol.priority = (char *)priority;
	pol.effective_from = (char *)from;
	pol.effective_until = (char *)(until ? until : "");
	pol.copays = copay_list;
	pol.n_copays = copay_flags.n;
	req.policy = &pol;
	if ((rc = desk_call(d, insurance_svc, "AddPolicy", &req.base, &reply)) != 0)
		return rc;
	const Frontdesk__V1__InsurancePolicy *p = ((Frontdesk__V1__AddPolicyReply *)reply)->policy;
	if (d->json) {
		struct desk_json j;
		json_begin(&j, stdout);
		json_policy(&j, "policy", p);
		json_end(&j);
	} else if (p) {
		printf("Added %s policy #%lld for patient #%lld.\n", p->priority, (long long)p->id,
		       (long long)p->patient_id);
	}
	protobuf_c_message_free_unpacked(reply, NULL);
	return 0;
}

int cmd_insurance_list(struct desk *d, int argc, char **argv)
{
	Frontdesk__V1__ListPoliciesRequest req = FRONTDESK__V1__LIST_POLICIES_REQUEST__INIT;
	Frontdesk__V1__ListPoliciesReply *r;
	const char *patient = NULL;
	bool all = false;
	ProtobufCMessage *reply;
	int rc;
	const struct desk_flag flags[] = {
		{ "patient", DESK_FLAG_TEXT, &patient, "N", "patient id" },
		{ "all", DESK_FLAG_SWITCH, &all, NULL, "include ended policies" },
	};

	if ((rc = desk_parse_flags(d, flags, countof(flags), argc, argv)) != DESK_GO)
		return rc;
	if ((rc = desk_parse_id(d, "--patient", patient, &req.patient_id)) != 0)
		return rc;
	if ((rc = desk_connect(d, true)) != 0)
		return rc;
	req.include_inactive = all;
	if ((rc = desk_call(d, insurance_svc, "ListPolicies", &req.base, &reply)) != 0)
		return rc;
	r = (Frontdesk__V1__ListPoliciesReply *)reply;
	if (d->json) {
		struct desk_json j;
		json_begin(&j, stdout);
		json_array(&j, "policies");
		for (size_t i = 0; i < r->n_policies; i++)
			json_policy(&j, NULL, r->policies[i]);
		json_array_end(&j);
		json_end(&j);
	} else if (r->n_policies == 0) {
		puts("No insurance on file.");
	} else {
		print_policies(r->policies, r->n_policies);
	}
	protobuf_c_message_free_unpacked(reply, NULL);
	return 0;
}

int cmd_insurance_verify(struct desk *d, int argc, char **argv)
{
	Frontdesk__V1__VerifyPolicyRequest req = FRONTDESK__V1__VERIFY_POLICY_REQUEST__INIT;
	const char *policy = NULL;
	ProtobufCMessage *reply;
	int rc;
	const struct desk_flag flags[] = {
		{ "policy", DESK_FLAG_TEXT, &policy, "N", "policy id (see insurance list)" },
	};

	if ((rc = desk_parse_flags(d, flags, countof(flags), argc, argv)) != DESK_GO)
		return rc;
	if ((rc = desk_parse_id(d, "--policy", policy, &req.policy_id)) != 0)
		return rc;
	if ((rc = desk_connect(d, true)) != 0)
		return rc;
	if ((rc = desk_call(d, insurance_svc, "VerifyPolicy", &req.base, &reply)) != 0)
		return rc;
	const Frontdesk__V1__InsurancePolicy *p = ((Frontdesk__V1__VerifyPolicyReply *)reply)->policy;
	if (d->json) {
		struct desk_json j;
		json_begin(&j, stdout);
		json_policy(&j, "policy", p);
		json_end(&j);
	} else {
		printf("Policy #%lld verified now.\n", (long long)req.policy_id);
	}
	protobuf_c_message_free_unpacked(reply, NULL);
	return 0;
}

/* Reads a whole file (at most CARD_MAX_BYTES + 1, to tell "too big"). */
static int read_card_file(struct desk *d, const char *path, uint8_t **data, size_t *len)
{
	FILE *f = fopen(path, "rb");

	if (!f)
		return desk_fail_local(d, FD_NOT_FOUND, NULL, "cannot open %s: %s", path, strerror(errno));
	*data = malloc(CARD_MAX_BYTES + 1);
	*len = *data ? fread(*data, 1, CARD_MAX_BYTES + 1, f) : 0;
	fclose(f);
	if (!*data)
		return desk_fail_local(d, FD_RESOURCE_EXHAUSTED, NULL, "out of memory");
	if (*len > CARD_MAX_BYTES) {
		free(*data);
		return desk_fail_local(d, FD_INVALID_ARGUMENT, "scan the card at a lower resolution",
				       "%s is larger than %d bytes", path, CARD_MAX_BYTES);
	}
	return 0;
}

int cmd_insurance_card(struct desk *d, int argc, char **argv)
{
	const char *policy = NULL, *side = NULL, *upload = NULL, *save = NULL;
	int64_t policy_id;
	ProtobufCMessage *reply;
	int rc;
	const struct desk_flag flags[] = {
		{ "policy", DESK_FLAG_TEXT, &policy, "N", "policy id" },
		{ "side", DESK_FLAG_TEXT, &side, "SIDE", "front or back" },
		{ "upload", DESK_FLAG_TEXT, &upload, "FILE", "store this JPEG, PNG or PDF" },
		{ "save", DESK_FLAG_TEXT, &save, "FILE", "write the stored image to FILE" },
	};

	if ((rc = desk_parse_flags(d, flags, countof(flags), argc, argv)) != DESK_GO)
		return rc;
	if ((rc = desk_parse_id(d, "--policy", policy, &policy_id)) != 0)
		return rc;
	if (!side)
		return desk_usage(d, "missing --side front|back");
	if (upload && save)
		return desk_usage(d, "give --upload or --save, not both");
	if (upload) {
		Frontdesk__V1__PutCardRequest req = FRONTDESK__V1__PUT_CARD_REQUEST__INIT;
		uint8_t *data = NULL;
		size_t len = 0;
		if ((rc = read_card_file(d, upload, &data, &len)) != 0)
			return rc;
		if ((rc = desk_connect(d, true)) != 0) {
			free(data);
			return rc;
		}
		req.policy_id = policy_id;
		req.side = (char *)side;
		req.image.data = data;
		req.image.len = len;
		rc = desk_call(d, insurance_svc, "PutCard", &req.base, &reply);
		free(data);
		if (rc != 0)
			return rc;
		const Frontdesk__V1__PutCardReply *r = (const void *)reply;
		if (d->json) {
			struct desk_json j;
			json_begin(&j, stdout);
			json_string(&j, "content_type", r->content_type);
			json_int(&j, "size", r->size);
			json_end(&j);
		} else {
			printf("Stored the %s of policy #%lld's card (%lld bytes, ", side,
			       (long long)policy_id, (long long)r->size);
			desk_print_text(stdout, r->content_type);
			puts(").");
		}
		protobuf_c_message_free_unpacked(reply, NULL);
		return 0;
	}
	Frontdesk__V1__GetCardRequest req = FRONTDESK__V1__GET_CARD_REQUEST__INIT;
	if ((rc = desk_connect(d, true)) != 0)
		return rc;
	req.policy_id = policy_id;
	req.side = (char *)side;
	if ((rc = desk_call(d, insurance_svc, "GetCard", &req.base, &reply)) != 0)
		return rc;
	const Frontdesk__V1__GetCardReply *r = (const void *)reply;
	if (save) {
		FILE *f = fopen(save, "wb");
		bool ok = f && fwrite(r->image.data, 1, r->image.len, f) == r->image.len;
		if (f && fclose(f) != 0)
			ok = false;
		if (!ok) {
			protobuf_c_message_free_unpacked(reply, NULL);
			return desk_fail_local(d, FD_INTERNAL, NULL, "cannot write %s", save);
		}
	}
	if (d->json) {
		struct desk_json j;
		json_begin(&j, stdout);
		json_string(&j, "content_type", r->content_type);
		json_int(&j, "size", (int64_t)r->image.len);
		json_int(&j, "uploaded_unix_ms", r->uploaded_unix_ms);
		json_string(&j, "uploaded_by", r->uploaded_by);
		if (save)
			json_string(&j, "saved_to", save);
		json_end(&j);
	} else {
		char when[64];
		desk_format_time(when, sizeof when, r->uploaded_unix_ms);
		printf("%s of policy #%lld: %zu bytes, ", side, (long long)policy_id, r->image.len);
		desk_print_text(stdout, r->content_type);
		printf(", stored %s by ", when);
		desk_print_text(stdout, r->uploaded_by);
		if (save) {
			fputs("; saved to ", stdout);
			desk_print_text(stdout, save);
		}
		puts(".");
	}
	protobuf_c_message_free_unpacked(reply, NULL);
	return 0;
}

/* --- vaccines -------------------------------------------------------- */

static void json_immunization(struct desk_json *j, const char *key, const Frontdesk__V1__Immunization *v)
{
	json_object(j, key);
	json_int(j, "id", v->id);
	json_int(j, "patient_id", v->patient_id);
	json_string(j, "cvx_code", v->cvx_code);
	json_string(j, "vaccine_name", v->vaccine_name);
	json_string(j, "administered_on", v->administered_on);
	json_string(j, "lot_number", v->lot_number);
	json_string(j, "site", v->site);
	json_string(j, "source", v->source);
	json_string(j, "entered_by", v->entered_by);
	json_int(j, "entered_unix_ms", v->entered_unix_ms);
	json_object_end(j);
}

int cmd_vaccine_add(struct desk *d, int argc, char **argv)
{
	Frontdesk__V1__AddImmunizationRequest req = FRONTDESK__V1__ADD_IMMUNIZATION_REQUEST__INIT;
	Frontdesk__V1__Immunization v = FRONTDESK__V1__IMMUNIZATION__INIT;
	const char *patient = NULL, *cvx = NULL, *name = NULL, *date = NULL, *lot = NULL,
		   *site = NULL, *source = NULL;
	ProtobufCMessage *reply;
	int rc;
	const struct desk_flag flags[] = {
		{ "patient", DESK_FLAG_TEXT, &patient, "N", "patient id" },
		{ "cvx", DESK_FLAG_TEXT, &cvx, "CODE", "CDC CVX vaccine code, e.g. 141" },
		{ "name", DESK_FLAG_TEXT, &name, "TEXT", "vaccine name" },
		{ "date", DESK_FLAG_TEXT, &date, "YYYY-MM-DD", "date given" },
		{ "lot", DESK_FLAG_TEXT, &lot, "LOT", "lot number" },
		{ "site", DESK_FLAG_TEXT, &site, "TEXT", "where given, e.g. left deltoid" },
		{ "source", DESK_FLAG_TEXT, &source, "SOURCE",
		  "administered, historical, registry or patient_reported (default administered)" },
	};

	if ((rc = desk_parse_flags(d, flags, countof(flags), argc, argv)) != DESK_GO)
		return rc;
	if ((rc = desk_parse_id(d, "--patient", patient, &v.patient_id)) != 0)
		return rc;
	if (!cvx || !date)
		return desk_usage(d, "give --cvx and --date");
	if ((rc = desk_connect(d, true)) != 0)
		return rc;
	v.cvx_code = (char *)cvx;
	v.vaccine_name = (char *)(name ? name : "");
	v.administered_on = (char *)date;
	v.lot_number = (char *)(lot ? lot : "");
	v.site = (char *)(site ? site : "");
	v.source = (char *)(source ? source : "administered");
	req.immunization = &v;
	if ((rc = desk_call(d, records_svc, "AddImmunization", &req.base, &reply)) != 0)
		return rc;
	const Frontdesk__V1__Immunization *got =
		((Frontdesk__V1__AddImmunizationReply *)reply)->immunization;
	if (d->json) {
		struct desk_json j;
		json_begin(&j, stdout);
		if (got)
			json_immunization(&j, "immunization", got);
		json_end(&j);
	} else if (got) {
		printf("Recorded immunization #%lld (CVX ", (long long)got->id);
		desk_print_text(stdout, got->cvx_code);
		printf(") for patient #%lld.\n", (long long)got->patient_id);
	}
	protobuf_c_message_free_unpacked(reply, NULL);
	return 0;
}

int cmd_vaccine_list(struct desk *d, int argc, char **argv)
{
	Frontdesk__V1__ListImmunizationsRequest req = FRONTDESK__V1__LIST_IMMUNIZATIONS_REQUEST__INIT;
	Frontdesk__V1__ListImmunizationsReply *r;
	const char *patient = NULL;
	ProtobufCMessage *reply;
	int rc;
	const struct desk_flag flags[] = {
		{ "patient", DESK_FLAG_TEXT, &patient, "N", "patient id" },
	};

	if ((rc = desk_parse_flags(d, flags, countof(flags), argc, argv)) != DESK_GO)
		return rc;
	if ((rc = desk_parse_id(d, "--patient", patient, &req.patient_id)) != 0)
		return rc;
	if ((rc = desk_connect(d, true)) != 0)
		return rc;
	if ((rc = desk_call(d, records_svc, "ListImmunizations", &req.base, &reply)) != 0)
		return rc;
	r = (Frontdesk__V1__ListImmunizationsReply *)reply;
	if (d->json) {
		struct desk_json j;
		json_begin(&j, stdout);
		json_array(&j, "immunizations");
		for (size_t i = 0; i < r->n_immunizations; i++)
			json_immunization(&j, NULL, r->immunizations[i]);
		json_array_end(&j);
		json_end(&j);
	} else {
		struct desk_table t;
		desk_table_init(&t, 7, "DATE", "CVX", "VACCINE", "LOT", "SITE", "SOURCE", "ENTERED BY");
		for (size_t i = 0; i < r->n_immunizations; i++) {
			const Frontdesk__V1__Immunization *v = r->immunizations[i];
			desk_table_row(&t, v->administered_on, v->cvx_code, v->vaccine_name,
				       v->lot_number, v->site, v->source, v->entered_by);
		}
		desk_table_print(&t, stdout);
		desk_table_free(&t);
	}
	protobuf_c_message_free_unpacked(reply, NULL);
	return 0;
}

/* --- refills --------------------------------------------------------- */

static void json_refill(struct desk_json *j, const char *key, const Frontdesk__V1__Refill *f)
{
	json_object(j, key);
	json_int(j, "id", f->id);
	json_int(j, "patient_id", f->patient_id);
	json_string(j, "medication", f->medication);
	json_string(j, "pharmacy", f->pharmacy);
	json_string(j, "requested_by", f->requested_by);
	json_string(j, "channel", f->channel);
	json_string(j, "status", f->status);
	json_int(j, "created_unix_ms", f->created_unix_ms);
	json_array(j, "steps");
	for (size_t i = 0; i < f->n_steps; i++) {
		json_object(j, NULL);
		json_string(j, "status", f->steps[i]->status);
		json_int(j, "at_unix_ms", f->steps[i]->at_unix_ms);
		json_string(j, "staff_username", f->steps[i]->staff_username);
		json_string(j, "note", f->steps[i]->note);
		json_object_end(j);
	}
	json_array_end(j);
	json_object_end(j);
}

static int print_refill_reply(struct desk *d, const Frontdesk__V1__Refill *f, const char *what)
{
	if (d->json) {
		struct desk_json j;
		json_begin(&j, stdout);
		if (f)
			json_refill(&j, "refill", f);
		json_end(&j);
	} else if (f) {
		printf("%s refill request #%lld for patient #%lld: ", what, (long long)f->id,
		       (long long)f->patient_id);
		desk_print_text(stdout, f->status);
		putchar('\n');
	}
	return 0;
}

int cmd_refill_add(struct desk *d, int argc, char **argv)
{
	Frontdesk__V1__AddRefillRequest req = FRONTDESK__V1__ADD_REFILL_REQUEST__INIT;
	Frontdesk__V1__Refill f = FRONTDESK__V1__REFILL__INIT;
	const char *patient = NULL, *medication = NULL, *pharmacy = NULL, *by = NULL,
		   *channel = NULL, *note = NULL;
	ProtobufCMessage *reply;
	int rc;
	const struct desk_flag flags[] = {
		{ "patient", DESK_FLAG_TEXT, &patient, "N", "patient id" },
		{ "medication", DESK_FLAG_TEXT, &medication, "TEXT", "medication and strength" },
		{ "pharmacy", DESK_FLAG_TEXT, &pharmacy, "TEXT", "pharmacy to send it to" },
		{ "requested-by", DESK_FLAG_TEXT, &by, "WHO", "who asked (default patient)" },
		{ "channel", DESK_FLAG_TEXT, &channel, "desk|phone", "how it came in (default desk)" },
		{ "note", DESK_FLAG_TEXT, &note, "TEXT", "a note for the provider" },
	};

	if ((rc = desk_parse_flags(d, flags, countof(flags), argc, argv)) != DESK_GO)
		return rc;
	if ((rc = desk_parse_id(d, "--patient", patient, &f.patient_id)) != 0)
		return rc;
	if (!medication)
		return desk_usage(d, "missing --medication TEXT");
	if ((rc = desk_connect(d, true)) != 0)
		return rc;
	f.medication = (char *)medication;
	f.pharmacy = (char *)(pharmacy ? pharmacy : "");
	f.requested_by = (char *)(by ? by : "patient");
	f.channel = (char *)(channel ? channel : "desk");
	req.refill = &f;
	req.note = (char *)(note ? note : "");
	if ((rc = desk_call(d, records_svc, "AddRefill", &req.base, &reply)) != 0)
		return rc;
	print_refill_reply(d, ((Frontdesk__V1__AddRefillReply *)reply)->refill, "Took");
	protobuf_c_message_free_unpacked(reply, NULL);
	return 0;
}

int cmd_refill_list(struct desk *d, int argc, char **argv)
{
	Frontdesk__V1__ListRefillsRequest req = FRONTDESK__V1__LIST_REFILLS_REQUEST__INIT;
	Frontdesk__V1__ListRefillsReply *r;
	const char *patient = NULL, *status = NULL;
	bool open = false;
	ProtobufCMessage *reply;
	int rc;
	const struct desk_flag flags[] = {
		{ "patient", DESK_FLAG_TEXT, &patient, "N", "one patient's requests" },
		{ "status", DESK_FLAG_TEXT, &status, "STATUS",
		  "new, sent_to_provider, approved, denied or done" },
		{ "open", DESK_FLAG_SWITCH, &open, NULL, "only requests not done" },
	};

	if ((rc = desk_parse_flags(d, flags, countof(flags), argc, argv)) != DESK_GO)
		return rc;
	if (patient && (rc = desk_parse_id(d, "--patient", patient, &req.patient_id)) != 0)
		return rc;
	if ((rc = desk_connect(d, true)) != 0)
		return rc;
	req.status = (char *)(status ? status : "");
	req.open_only = open;
	if ((rc = desk_call(d, records_svc, "ListRefills", &req.base, &reply)) != 0)
		return rc;
	r = (Frontdesk__V1__ListRefillsReply *)reply;
	if (d->json) {
		struct desk_json j;
		json_begin(&j, stdout);
		json_array(&j, "refills");
		for (size_t i = 0; i < r->n_refills; i++)
			json_refill(&j, NULL, r->refills[i]);
		json_array_end(&j);
		json_end(&j);
	} else {
		struct desk_table t;
		desk_table_init(&t, 7, "ID", "PATIENT", "MEDICATION", "PHARMACY", "STATUS", "SINCE",
				"BY");
		for (size_t i = 0; i < r->n_refills; i++) {
			const Frontdesk__V1__Refill *f = r->refills[i];
			const Frontdesk__V1__RefillStep *last =
				f->n_steps ? f->steps[f->n_steps - 1] : NULL;
			char id[24], pid[24], since[64];
			snprintf(id, sizeof id, "%lld", (long long)f->id);
			snprintf(pid, sizeof pid, "%lld", (long long)f->patient_id);
			desk_format_time(since, sizeof since, last ? last->at_unix_ms : 0);
			desk_table_row(&t, id, pid, f->medication, f->pharmacy, f->status, since,
				       last ? last->staff_username : "");
		}
		desk_table_print(&t, stdout);
		desk_table_free(&t);
	}
	protobuf_c_message_free_unpacked(reply, NULL);
	return 0;
}

int cmd_refill_update(struct desk *d, int argc, char **argv)
{
	Frontdesk__V1__UpdateRefillRequest req = FRONTDESK__V1__UPDATE_REFILL_REQUEST__INIT;
	const char *id = NULL, *status = NULL, *note = NULL;
	ProtobufCMessage *reply;
	int rc;
	const struct desk_flag flags[] = {
		{ "id", DESK_FLAG_TEXT, &id, "N", "refill request id" },
		{ "status", DESK_FLAG_TEXT, &status, "STATUS",
		  "sent_to_provider, approved, denied or done" },
		{ "note", DESK_FLAG_TEXT, &note, "TEXT", "why, for the record" },
	};

	if ((rc = desk_parse_flags(d, flags, countof(flags), argc, argv)) != DESK_GO)
		return rc;
	if ((rc = desk_parse_id(d, "--id", id, &req.refill_id)) != 0)
		return rc;
	if (!status)
		return desk_usage(d, "missing --status STATUS");
	if ((rc = desk_connect(d, true)) != 0)
		return rc;
	req.status = (char *)status;
	req.note = (char *)(note ? note : "");
	if ((rc = desk_call(d, records_svc, "UpdateRefill", &req.base, &reply)) != 0)
		return rc;
	print_refill_reply(d, ((Frontdesk__V1__UpdateRefillReply *)reply)->refill, "Moved");
	protobuf_c_message_free_unpacked(reply, NULL);
	return 0;
}
