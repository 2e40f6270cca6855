/*
 * `desk console`: the full-screen console a receptionist keeps open all day.
 *
 * Threads. The libuv loop thread owns curses and every field of struct
 * console except the few the call thread shares under call_lock. Calls to
 * the server never run on the loop: console_send copies the request, a
 * dedicated call thread (console_calls.c) makes the blocking fd_client call
 * and hands the job back through a locked list and uv_async_send; the
 * job's `done` function then runs on the loop thread with the reply. Calls
 * run one at a time in the order they were sent, so replies are applied in
 * order too (a read sent after an action sees its effect). While a call
 * waits, keys and events keep being handled. Live events need no thread:
 * the event feed's pollable descriptor is a uv_poll (console_events.c).
 *
 * Memory: every reply pointer in struct console is a protobuf-c message
 * unpacked by the client library and freed with free_unpacked when it is
 * replaced or when the console locks or exits. A `done` function that keeps
 * a reply takes it from struct console_reply (sets msg to NULL); whatever
 * it leaves there is freed after it returns.
 */
#ifndef DESK_CONSOLE_H
#define DESK_CONSOLE_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <uv.h>

#include "frontdesk.h"
#include "settings.h"
#include "frontdesk/v1/all.h"

#define CONSOLE_CALL_MS 2000      /* deadline of an interactive call */
#define CONSOLE_PING_MS 1000      /* deadline of the heartbeat */
#define CONSOLE_HEARTBEAT_MS 2000 /* how often the link is checked */
#define CONSOLE_FIELD_MAX 128
#define CONSOLE_POP_MAX 3
#define CONSOLE_FORM_MAX 12
#define CONSOLE_EXPECTED_MIN 240  /* the board's look ahead: who is expected soon */

#define CONSOLE_FREE_REPLY(p)                                                \
	do {                                                                 \
		if (p)                                                       \
			protobuf_c_message_free_unpacked(&(p)->base, NULL);  \
		(p) = NULL;                                                  \
	} while (0)

/* What an event says must be re-read (bits of a refresh). */
enum {
	CHANGED_TODAY = 1u << 0,
	CHANGED_PHONES = 1u << 1,
	CHANGED_PATIENTS = 1u << 2,
	CHANGED_ALL = 0x7u,
};

enum console_view { VIEW_LOGIN, VIEW_TODAY, VIEW_PHONES, VIEW_PATIENTS, VIEW_BOARD };

/* What the Patients view shows. */
enum patient_pane { PANE_SEARCH, PANE_BOOKING, PANE_RECORD };
/* The tabs of a patient's record. */
enum record_tab { TAB_DETAILS, TAB_INSURANCE, TAB_FORMS, TAB_UPCOMING, TAB_PAYMENTS };

/* A line of typed text; kept across disconnects. */
struct console_field {
	char text[CONSOLE_FIELD_MAX];
	size_t len;
};

struct console;
/* What Enter does with a prompt's text. */
typedef void (*console_prompt_done)(struct console *c, const char *text);

struct console_prompt {
	bool active;
	char label[96];
	struct console_field input;
	console_prompt_done done;
	/* Optional answers picked with one digit (1..n) before typing. */
	const char *const *quick;
	size_t n_quick;
	int64_t about; /* what the prompt acts on (a message, a visit) */
};

/* A form of labelled fields (register, edit, add a policy, copay).
 * Enter goes to the next field and submits from the last; ^S submits
 * from anywhere; Esc closes it. */
struct console_form_field {
	char label[24];
	char hint[48]; /* shown after the value: allowed answers */
	struct console_field value;
};
struct console_form {
	bool open;
	char title[96];
	size_t n;
	size_t focus;
	struct console_form_field fields[CONSOLE_FORM_MAX];
	void (*submit)(struct console *c);
	int64_t about; /* the patient, visit or record the form is for */
};

/* What a call brought back, given to its `done` function on the loop. */
struct console_reply {
	int code;              /* FD_OK or the failure (already on the status line) */
	ProtobufCMessage *msg; /* FD_OK: the reply; take it by setting NULL */
	int64_t about;         /* what the sender said the call was about */
};
typedef void (*console_done)(struct console *c, struct console_reply *r);

struct console_job; /* console_calls.c */

/* The screen pop of one ringing call: patients matched by number. */
struct console_pop {
	int64_t call_id;
	unsigned gen; /* bumped per pop, so late replies of an old one drop */
	Frontdesk__V1__FindPatientsReply *patients;
	int64_t next_unix_ms[CONSOLE_POP_MAX]; /* 0: none booked */
};

/* The booking panel of the Patients view. */
struct console_booking {
	int64_t patient_id;
	char patient_name[160];
	size_t type_index;
	Frontdesk__V1__ListTypesReply *types;
	Frontdesk__V1__FindSlotsReply *slot; /* the first free slot, once found */
	bool want_slot; /* Enter came before the types: find once they arrive */
};

/* One patient's record and its tabs. */
struct console_record {
	int64_t patient_id;
	enum record_tab tab;
	Frontdesk__V1__GetPatientReply *got;
	Frontdesk__V1__ListPoliciesReply *policies;
	size_t policy_sel;
	Frontdesk__V1__IntakeStatusReply *forms;
	Frontdesk__V1__ListAppointmentsReply *appointments;
	/* The Payments tab: every payment and refund (voided ones marked),
	 * newest first, with the balance on top. */
	Frontdesk__V1__ListPaymentsReply *payments;
	size_t payment_sel;
};

/* The receipt pane: the text the server rendered for a payment. */
struct console_receipt {
	bool open;
	char *text; /* malloc'd copy */
	char number[64];
	char saved_to[512];
};

/* Where the last drawn list sits, so a mouse click can select its rows. */
struct console_click {
	int top;      /* screen row of the list's first shown row */
	int rows;     /* rows shown */
	size_t first; /* index of the first shown row */
	size_t n;
	size_t *sel;
};

struct console {
	struct desk *d;
	uv_loop_t *loop;
	uv_poll_t stdin_watch;
	uv_signal_t winch, sigterm, sighup;
	uv_timer_t idle_timer, heartbeat_timer;
	bool quit;
	unsigned empty_wakeups; /* stdin readable yet no key: a hung-up tty */

	/* The call thread (console_calls.c). `client` belongs to that
	 * thread while it runs; the loop thread never touches it. */
	fd_client *client;
	char server_url[512];
	pthread_t call_thread;
	bool call_running;
	pthread_mutex_t call_lock; /* guards the two lists and call_stop */
	pthread_cond_t call_cond;
	struct console_job *queued_head, *queued_tail; /* to the thread */
	struct console_job *done_head, *done_tail;     /* back to the loop */
	bool call_stop;
	atomic_bool link_up;  /* false: calls fail at once instead of waiting */
	uv_async_t calls_wake;
	unsigned in_flight;   /* sent and not yet applied (loop thread) */
	bool ping_in_flight;
	unsigned session_gen; /* bumped on lock: late replies are dropped */

	/* The event feed (console_events.c), polled on the loop. */
	fd_events *events;
	uv_poll_t events_watch;
	bool events_watching;

	/* The link and the session. */
	bool link_checked; /* a Ping has answered or failed at least once */
	bool connected;
	bool logged_in;
	bool locked;
	char events_url[256];
	char location[64];
	char display_name[160];
	unsigned lock_after_s; /* 0: the session's idle timeout */
	unsigned idle_timeout_s;

	/* Login and lock screen: user, password, desk. */
	struct console_field login[3];
	int login_focus;

	enum console_view view;
	bool help;
	char status[256]; /* the last outcome or error, shown on screen */
	struct console_prompt prompt;
	struct console_form form;
	struct console_receipt receipt;
	struct console_click click;

	/* Today. */
	Frontdesk__V1__ListAppointmentsReply *today;
	size_t today_sel;
	bool today_moved; /* false: the selection follows the next arrival */
	int64_t move_id; /* the appointment a reschedule waits to confirm */
	char move_at[40];
	char move_provider[64];
	/* The visit the last check-in at this desk opened (Today's `c`). */
	int64_t last_visit_id;
	/* Waiting room: the check-in service's board, with the patients
	 * expected in the next CONSOLE_EXPECTED_MIN minutes and their
	 * readiness (also read with Today, for its '!' flags). */
	Frontdesk__V1__BoardReply *board;
	size_t board_sel;
	/* Phones. */
	Frontdesk__V1__PhoneListCallsReply *calls;
	Frontdesk__V1__PhoneListMessagesReply *messages;
	Frontdesk__V1__PhoneListPresenceReply *presence;
	Frontdesk__V1__PhoneListQueuesReply *queues;
	const char *queue_codes[9]; /* the transfer prompt's quick answers */
	size_t call_sel;
	size_t message_sel;
	bool messages_focus; /* Up/Down move in the inbox, not the calls */
	struct console_pop pop;
	/* Patients. */
	enum patient_pane pane;
	struct console_field query;
	Frontdesk__V1__FindPatientsReply *found;
	size_t found_sel;
	struct console_booking booking;
	struct console_record record;
};

/* --- console.c: loop, login, lock, keys ------------------------------ */

/* `desk console [--desk CODE] [--user NAME] [--location CODE]
 * [--lock-after SECONDS]`: runs until ^Q, q or SIGTERM. */
int console_main(struct desk *d, int argc, char **argv);
void console_set_status(struct console *c, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
/* Locks the screen now and forgets every reply with patient data. */
void console_lock(struct console *c, const char *why);

/* --- console_calls.c: calls off the loop ----------------------------- */

int console_calls_start(struct console *c) __attribute__((warn_unused_result));
/* Waits for the call under way (at most its deadline), drops the rest. */
void console_calls_stop(struct console *c);
/* Sends `method` of `svc` with a copy of `request` (the caller's request
 * may die when this returns). `done` (may be NULL) runs later on the loop
 * thread, also on failure, after the status line says `action: message`;
 * a lost link raises the banner, a lost session locks the screen. Replies
 * to calls sent before a lock are dropped unseen. */
void console_send(struct console *c, const ProtobufCServiceDescriptor *svc,
		  const char *method, const ProtobufCMessage *request,
		  const char *action, console_done done, int64_t about);
/* Login: the call thread installs the session token on success. */
void console_send_login(struct console *c, const Frontdesk__V1__LoginRequest *req,
			console_done done);
/* The heartbeat: opens the client if needed and pings; quiet on failure. */
void console_send_ping(struct console *c, console_done done);

/* --- console_events.c: the live feed on a uv_poll -------------------- */

void console_events_start(struct console *c);
/* Closes the poll handle (the loop must run to finish the close), then
 * console_events_free closes the feed. */
void console_events_stop(struct console *c);
void console_events_free(struct console *c);

/* --- console_input.c: fields, prompts, forms, lists ------------------ */

void console_field_set(struct console_field *f, const char *s);
void console_field_clear(struct console_field *f);
bool console_field_edit(struct console_field *f, unsigned ch, bool is_key);
void console_open_prompt(struct console *c, const char *label,
			 console_prompt_done done);
void console_prompt_key(struct console *c, unsigned ch, bool is_key);
/* Opens an empty form; add its fields with console_form_add. */
void console_form_open(struct console *c, const char *title,
		       void (*submit)(struct console *c), int64_t about);
void console_form_add(struct console *c, const char *label, const char *hint,
		      const char *value);
const char *console_form_value(const struct console *c, size_t i);
void console_form_key(struct console *c, unsigned ch, bool is_key);
bool console_is_enter(int ch, bool is_key);
void console_move_selection(size_t *sel, size_t n, int ch);
bool console_is_move_key(int ch, bool is_key);
/* "12.50" or "12" → 1250 cents; false when it is not an amount. */
bool console_parse_cents(const char *text, int64_t *cents);

/* --- console_views.c: dispatch -------------------------------------- */

void console_refresh(struct console *c, unsigned what);
/* Keys of the current view; false when the key means nothing there. */
bool console_view_key(struct console *c, int ch, bool is_key);
/* Frees every reply that shows patient data (on lock and exit). */
void console_forget(struct console *c);

/* --- console_today.c ------------------------------------------------- */

void console_today_read(struct console *c);
bool console_today_key(struct console *c, int ch, bool is_key);

/* --- console_checkin.c: check-in, waiting room, copay, receipt ------- */

void console_check_in(struct console *c, int64_t appointment_id,
		      const char *override_reason);
void console_board_read(struct console *c);
bool console_board_key(struct console *c, int ch, bool is_key);
/* Opens the copay form for a visit, the amount prefilled from the
 * policy copay the visit expects less what is paid. */
void console_collect_copay(struct console *c, int64_t visit_id);
bool console_receipt_key(struct console *c, int ch, bool is_key);
void console_receipt_close(struct console *c);

/* --- console_phone.c ------------------------------------------------- */

void console_phones_read(struct console *c);
bool console_phones_key(struct console *c, int ch, bool is_key);
/* Answers the first ringing call (F4, or `a` in Phones). */
void console_answer_first(struct console *c);
/* The waiting call the Phones view points at, or NULL. */
const Frontdesk__V1__PhoneCall *console_ringing(const struct console *c);

/* --- console_patient.c: search and booking --------------------------- */

void console_found_read(struct console *c);
bool console_patients_key(struct console *c, int ch, bool is_key);
/* Opens the booking pane for a patient (from search or their record). */
void console_book_for(struct console *c, int64_t patient_id, const char *family,
		      const char *given);

/* --- console_record.c: register, edit, insurance, forms, payments ---- */

void console_record_open(struct console *c, int64_t patient_id);
void console_record_read(struct console *c);
bool console_record_key(struct console *c, int ch, bool is_key);
void console_register_open(struct console *c);
void console_record_forget(struct console *c);

/* --- console_draw.c, console_draw_patient.c -------------------------- */

void console_draw(struct console *c);
void console_colors(void);
/* Text from the server, escaped (output.c) and clipped to `width`
 * columns at (y, x). */
void console_put(int y, int x, int width, const char *text);
void console_draw_patients(struct console *c, int top, int bottom);
void console_draw_form(struct console *c, int top, int bottom);
void console_draw_receipt(struct console *c, int top, int bottom);
/* The x range of each view tab on line 0, for mouse clicks. */
enum console_view console_tab_at(int x);
/* "12.50" from cents. */
void console_money(char *buf, size_t size, int64_t cents);

#endif
