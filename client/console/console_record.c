/*
 * `desk console`: one patient's record, in tabs: details (with `e` to edit),
 * insurance (list, `a` add a policy, `v` mark the selected one verified),
 * forms status, upcoming appointments (`b` books), and payments (the
 * balance over every payment and refund, newest first; Enter or `g` on a
 * row shows its receipt, `g` with no row asks for a receipt number). Also
 * the registration form (F7 or ^N from the search). The server checks every field; its refusal
 * (a bad date, an unknown sex, a malformed phone) is shown on the status
 * line and the form stays open, filled in, to be fixed and sent again.
 *
 * Every read is tagged with the patient it is about, so a reply for a
 * record the receptionist has already left is dropped.
 */
#include <curses.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "console.h"

/* The patient form's fields, in order, with the PatientFields names an
 * update mask uses. */
enum {
	PF_FAMILY, PF_GIVEN, PF_PREFERRED, PF_BIRTH, PF_SEX, PF_PHONE, PF_EMAIL,
	PF_LANGUAGE, PF_INTERPRETER, PF_ADDRESS, PF_COUNT
};
static const char *const patient_mask[PF_COUNT] = {
	"family_name", "given_name", "preferred_name", "date_of_birth",
	"sex_at_birth", "phone", "email", "preferred_language",
	"interpreter_needed", "address",
};

void console_record_forget(struct console *c)
{
	struct console_record *r = &c->record;

	CONSOLE_FREE_REPLY(r->got);
	CONSOLE_FREE_REPLY(r->policies);
	CONSOLE_FREE_REPLY(r->forms);
	CONSOLE_FREE_REPLY(r->appointments);
	CONSOLE_FREE_REPLY(r->payments);
	r->patient_id = 0;
	r->policy_sel = 0;
	r->payment_sel = 0;
}

/* --- reading ---------------------------------------------------------- */

/* Keeps a reply in *slot when it is about the record still shown. */
static void keep(struct console *c, struct console_reply *r, ProtobufCMessage **slot)
{
	if (r->code != FD_OK || r->about != c->record.patient_id)
		return;
	if (*slot)
		protobuf_c_message_free_unpacked(*slot, NULL);
	*slot = r->msg;
	r->msg = NULL;
}

static void got_done(struct console *c, struct console_reply *r)
{
	keep(c, r, (ProtobufCMessage **)&c->record.got);
}

static void policies_done(struct console *c, struct console_reply *r)
{
	keep(c, r, (ProtobufCMessage **)&c->record.policies);
	if (c->record.policies && c->record.policy_sel >= c->record.policies->n_policies)
		c->record.policy_sel = 0;
}

static void forms_done(struct console *c, struct console_reply *r)
{
	keep(c, r, (ProtobufCMessage **)&c->record.forms);
}

static void appointments_done(struct console *c, struct console_reply *r)
{
	keep(c, r, (ProtobufCMessage **)&c->record.appointments);
}

static void payments_done(struct console *c, struct console_reply *r)
{
	keep(c, r, (ProtobufCMessage **)&c->record.payments);
	if (c->record.payments && c->record.payment_sel >= c->record.payments->n_payments)
		c->record.payment_sel = 0;
}

void console_record_read(struct console *c)
{
	Frontdesk__V1__GetPatientRequest get = FRONTDESK__V1__GET_PATIENT_REQUEST__INIT;
	Frontdesk__V1__ListPoliciesRequest policies = FRONTDESK__V1__LIST_POLICIES_REQUEST__INIT;
	Frontdesk__V1__IntakeStatusRequest forms = FRONTDESK__V1__INTAKE_STATUS_REQUEST__INIT;
	Frontdesk__V1__ListAppointmentsRequest appts =
		FRONTDESK__V1__LIST_APPOINTMENTS_REQUEST__INIT;
	Frontdesk__V1__ListPaymentsRequest payments =
		FRONTDESK__V1__LIST_PAYMENTS_REQUEST__INIT;
	int64_t id = c->record.patient_id;

	if (!id)
		return;
	get.patient_id = policies.patient_id = forms.patient_id = id;
	appts.patient_id = payments.patient_id = id;
	/* Voided rows too, marked: the desk sees why a receipt no longer
	 * counts. */
	payments.include_voided = true;
	console_send(c, &frontdesk__v1__patients__descriptor, "GetPatient", &get.base,
		     "cannot read the patient", got_done, id);
	console_send(c, &frontdesk__v1__insurance__descriptor, "ListPolicies",
		     &policies.base, "cannot list the policies", policies_done, id);
	console_send(c, &frontdesk__v1__intake__descriptor, "IntakeStatus", &forms.base,
		     "cannot read the forms", forms_done, id);
	console_send(c, &frontdesk__v1__scheduling__descriptor, "ListAppointments",
		     &appts.base, "cannot list the appointments", appointments_done, id);
	console_send(c, &frontdesk__v1__checkin__descriptor, "ListPayments",
		     &payments.base, "cannot list the payments", payments_done, id);
}

void console_record_open(struct console *c, int64_t patient_id)
{
	console_record_forget(c);
	c->record.patient_id = patient_id;
	c->record.tab = TAB_DETAILS;
	c->pane = PANE_RECORD;
	console_record_read(c);
}

/* --- the patient form: register and edit ------------------------------ */

static bool yes(const char *s)
{
	return !strcmp(s, "y") || !strcmp(s, "yes") || !strcmp(s, "Y") ||
	       !strcmp(s, "true");
}

/* The form's values as PatientFields (pointing into the form). */
static void fields_from_form(struct console *c, Frontdesk__V1__PatientFields *f)
{
	f->family_name = (char *)console_form_value(c, PF_FAMILY);
	f->given_name = (char *)console_form_value(c, PF_GIVEN);
	f->preferred_name = (char *)console_form_value(c, PF_PREFERRED);
	f->date_of_birth = (char *)console_form_value(c, PF_BIRTH);
	f->sex_at_birth = (char *)console_form_value(c, PF_SEX);
	f->phone = (char *)console_form_value(c, PF_PHONE);
	f->email = (char *)console_form_value(c, PF_EMAIL);
	f->preferred_language = (char *)console_form_value(c, PF_LANGUAGE);
	f->interpreter_needed = yes(console_form_value(c, PF_INTERPRETER));
	f->address = (char *)console_form_value(c, PF_ADDRESS);
}

static void patient_form(struct console *c, const char *title,
			 void (*submit)(struct console *c), int64_t about,
			 const Frontdesk__V1__PatientFields *now)
{
	console_form_open(c, title, submit, about);
	console_form_add(c, "Family name", "legal, as written", now ? now->family_name : "");
	console_form_add(c, "Given name", "", now ? now->given_name : "");
	console_form_add(c, "Preferred name", "", now ? now->preferred_name : "");
	console_form_add(c, "Date of birth", "YYYY-MM-DD", now ? now->date_of_birth : "");
	console_form_add(c, "Sex at birth", "female male intersex unknown",
			 now ? now->sex_at_birth : "");
	console_form_add(c, "Phone", "e.g. 212 555 0101", now ? now->phone : "");
	console_form_add(c, "Email", "", now ? now->email : "");
	console_form_add(c, "Language", "e.g. en, es", now ? now->preferred_language : "");
	console_form_add(c, "Interpreter", "y or n",
			 now ? (now->interpreter_needed ? "y" : "n") : "n");
	console_form_add(c, "Address", "", now ? now->address : "");
}

static void registered(struct console *c, struct console_reply *r)
{
	Frontdesk__V1__RegisterPatientReply *reg = (Frontdesk__V1__RegisterPatientReply *)r->msg;

	if (r->code != FD_OK)
		return;
	if (!reg->patient && reg->n_possible_duplicates) {
		const Frontdesk__V1__PatientSummary *d = reg->possible_duplicates[0];

		/* Stopped: say who it may be; ^S again registers anyway. */
		c->form.about = 1;
		console_set_status(c,
				   "possible duplicate: %.20s %.40s, %.40s (%.20s);"
				   " ^S registers anyway, Esc stops",
				   d->mrn, d->family_name, d->given_name, d->match);
		return;
	}
	if (!reg->patient)
		return;
	c->form.open = false;
	console_set_status(c, "registered %s, MRN %s",
			   reg->patient->fields ? reg->patient->fields->family_name : "",
			   reg->patient->mrn);
	console_record_open(c, reg->patient->id);
}

static void submit_register(struct console *c)
{
	Frontdesk__V1__RegisterPatientRequest req = FRONTDESK__V1__REGISTER_PATIENT_REQUEST__INIT;
	Frontdesk__V1__PatientFields fields = FRONTDESK__V1__PATIENT_FIELDS__INIT;

	fields_from_form(c, &fields);
	req.fields = &fields;
	req.confirm_not_duplicate = c->form.about == 1;
	console_set_status(c, "registering...");
	console_send(c, &frontdesk__v1__patients__descriptor, "RegisterPatient",
		     &req.base, "cannot register", registered, 0);
}

void console_register_open(struct console *c)
{
	c->view = VIEW_PATIENTS;
	patient_form(c, "Register a new patient", submit_register, 0, NULL);
}

static void updated(struct console *c, struct console_reply *r)
{
	if (r->code != FD_OK)
		return;
	c->form.open = false;
	console_set_status(c, "patient record saved");
	console_record_read(c);
}

static void submit_edit(struct console *c)
{
	Frontdesk__V1__UpdatePatientRequest req = FRONTDESK__V1__UPDATE_PATIENT_REQUEST__INIT;
	Frontdesk__V1__PatientFields fields = FRONTDESK__V1__PATIENT_FIELDS__INIT;

	fields_from_form(c, &fields);
	req.patient_id = c->form.about;
	req.fields = &fields;
	req.update_mask = (char **)patient_mask;
	req.n_update_mask = PF_COUNT;
	/* Refused (ABORTED) if a colleague changed the record meanwhile. */
	if (c->record.got && c->record.got->patient)
		req.expected_version = c->record.got->patient->version;
	console_send(c, &frontdesk__v1__patients__descriptor, "UpdatePatient",
		     &req.base, "cannot save", updated, req.patient_id);
}

/* --- insurance -------------------------------------------------------- */

enum { IN_PAYER, IN_PLAN, IN_MEMBER, IN_GROUP, IN_SUBSCRIBER, IN_RELATION,
       IN_PRIORITY, IN_FROM, IN_VISIT_TYPE, IN_COPAY };

static void policy_added(struct console *c, struct console_reply *r)
{
	if (r->code != FD_OK)
		return;
	c->form.open = false;
	console_set_status(c, "policy added");
	console_record_read(c);
}

static void submit_policy(struct console *c)
{
	Frontdesk__V1__AddPolicyRequest req = FRONTDESK__V1__ADD_POLICY_REQUEST__INIT;
	Frontdesk__V1__InsurancePolicy p = FRONTDESK__V1__INSURANCE_POLICY__INIT;
	Frontdesk__V1__Copay copay = FRONTDESK__V1__COPAY__INIT, *copays[1] = { &copay };
	const char *amount = console_form_value(c, IN_COPAY);

	if (amount[0] && !console_parse_cents(amount, &copay.copay_cents)) {
		console_set_status(c, "the copay is dollars and cents, e.g. 25.00");
		c->form.focus = IN_COPAY;
		return;
	}
	p.patient_id = c->form.about;
	p.payer = (char *)console_form_value(c, IN_PAYER);
	p.plan = (char *)console_form_value(c, IN_PLAN);
	p.member_id = (char *)console_form_value(c, IN_MEMBER);
	p.group_number = (char *)console_form_value(c, IN_GROUP);
	p.subscriber_name = (char *)console_form_value(c, IN_SUBSCRIBER);
	p.subscriber_relationship = (char *)console_form_value(c, IN_RELATION);
	p.priority = (char *)console_form_value(c, IN_PRIORITY);
	p.effective_from = (char *)console_form_value(c, IN_FROM);
	copay.visit_type = (char *)console_form_value(c, IN_VISIT_TYPE);
	if (amount[0]) {
		p.copays = copays;
		p.n_copays = 1;
	}
	req.policy = &p;
	console_send(c, &frontdesk__v1__insurance__descriptor, "AddPolicy", &req.base,
		     "cannot add the policy", policy_added, p.patient_id);
}

static void open_policy_form(struct console *c)
{
	const Frontdesk__V1__Patient *p = c->record.got ? c->record.got->patient : NULL;
	char today[16], subscriber[200] = "";
	time_t now = time(NULL);
	struct tm tm;

	localtime_r(&now, &tm);
	strftime(today, sizeof today, "%Y-%m-%d", &tm);
	if (p && p->fields)
		snprintf(subscriber, sizeof subscriber, "%s %s", p->fields->given_name,
			 p->fields->family_name);
	console_form_open(c, "Add an insurance policy", submit_policy, c->record.patient_id);
	console_form_add(c, "Payer", "", "");
	console_form_add(c, "Plan", "", "");
	console_form_add(c, "Member ID", "", "");
	console_form_add(c, "Group number", "", "");
	console_form_add(c, "Subscriber", "", subscriber);
	console_form_add(c, "Relationship", "self spouse child other", "self");
	console_form_add(c, "Priority", "primary secondary tertiary", "primary");
	console_form_add(c, "Effective from", "YYYY-MM-DD", today);
	console_form_add(c, "Copay visit type", "appointment type code", "checkup");
	console_form_add(c, "Copay", "e.g. 25.00; empty: none", "");
}

static void verified(struct console *c, struct console_reply *r)
{
	if (r->code != FD_OK)
		return;
	console_set_status(c, "policy %lld verified", (long long)r->about);
	console_record_read(c);
}

static void verify_selected(struct console *c)
{
	Frontdesk__V1__VerifyPolicyRequest req = FRONTDESK__V1__VERIFY_POLICY_REQUEST__INIT;
	const Frontdesk__V1__ListPoliciesReply *l = c->record.policies;

	if (!l || c->record.policy_sel >= l->n_policies) {
		console_set_status(c, "no policy selected");
		return;
	}
	req.policy_id = l->policies[c->record.policy_sel]->id;
	console_send(c, &frontdesk__v1__insurance__descriptor, "VerifyPolicy",
		     &req.base, "cannot verify", verified, req.policy_id);
}

/* --- payments --------------------------------------------------------- */

static void receipt_read(struct console *c, struct console_reply *r)
{
	Frontdesk__V1__PaymentReply *p = (Frontdesk__V1__PaymentReply *)r->msg;

	if (r->code != FD_OK)
		return;
	console_receipt_close(c);
	c->receipt.open = true;
	c->receipt.text = strdup(p->receipt_text ? p->receipt_text : "");
	snprintf(c->receipt.number, sizeof c->receipt.number, "%s",
		 p->payment && p->payment->receipt_number ? p->payment->receipt_number : "");
	console_set_status(c, "receipt %s", c->receipt.number);
}

/* The selected payment's receipt, by id (the Payments tab's Enter). */
static bool open_selected_receipt(struct console *c)
{
	Frontdesk__V1__GetReceiptRequest req = FRONTDESK__V1__GET_RECEIPT_REQUEST__INIT;
	const Frontdesk__V1__ListPaymentsReply *l = c->record.payments;

	if (!l || c->record.payment_sel >= l->n_payments)
		return false;
	req.payment_id = l->payments[c->record.payment_sel]->id;
	console_send(c, &frontdesk__v1__checkin__descriptor, "GetReceipt", &req.base,
		     "cannot read the receipt", receipt_read, 0);
	return true;
}

static void receipt_entered(struct console *c, const char *text)
{
	Frontdesk__V1__GetReceiptRequest req = FRONTDESK__V1__GET_RECEIPT_REQUEST__INIT;

	if (!text[0])
		return;
	req.receipt_number = (char *)text;
	console_send(c, &frontdesk__v1__checkin__descriptor, "GetReceipt", &req.base,
		     "cannot read the receipt", receipt_read, 0);
}

/* --- keys -------------------------------------------------------------- */

static bool tab_key(struct console *c, int ch)
{
	static const char tabs[] = "dnfup";

	if (!strchr(tabs, ch))
		return false;
	c->record.tab = (enum record_tab)(strchr(tabs, ch) - tabs);
	return true;
}

bool console_record_key(struct console *c, int ch, bool is_key)
{
	const Frontdesk__V1__Patient *p = c->record.got ? c->record.got->patient : NULL;

	if ((!is_key && ch == 27) || (is_key && ch == KEY_LEFT)) {
		c->pane = PANE_SEARCH;
		return true;
	}
	if (console_is_move_key(ch, is_key) && c->record.tab == TAB_INSURANCE) {
		console_move_selection(&c->record.policy_sel,
				       c->record.policies ? c->record.policies->n_policies : 0, ch);
		return true;
	}
	if (console_is_move_key(ch, is_key) && c->record.tab == TAB_PAYMENTS) {
		console_move_selection(&c->record.payment_sel,
				       c->record.payments ? c->record.payments->n_payments : 0, ch);
		return true;
	}
	if (console_is_enter(ch, is_key) && c->record.tab == TAB_PAYMENTS) {
		if (!open_selected_receipt(c))
			console_set_status(c, "no payment selected");
		return true;
	}
	if (is_key || ch <= 0 || ch > 0x7e)
		return false;
	if (tab_key(c, ch))
		return true;
	if (ch == 'r') {
		console_record_read(c);
		return true;
	}
	if (!p || !p->fields) {
		console_set_status(c, "the record is still being read");
		return true;
	}
	switch (ch) {
	case 'e':
		patient_form(c, "Edit the patient", submit_edit, p->id, p->fields);
		return true;
	case 'b':
		console_book_for(c, p->id, p->fields->family_name, p->fields->given_name);
		return true;
	case 'a':
		c->record.tab = TAB_INSURANCE;
		open_policy_form(c);
		return true;
	case 'v':
		c->record.tab = TAB_INSURANCE;
		verify_selected(c);
		return true;
	case 'g':
		if (c->record.tab != TAB_PAYMENTS || !open_selected_receipt(c))
			console_open_prompt(c, "Receipt number", receipt_entered);
		return true;
	default:
		return false;
	}
}
