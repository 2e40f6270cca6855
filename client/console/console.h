/*
 * `desk console`: the full-screen console a receptionist keeps open all day.
 *
 * One thread runs the libuv loop and owns curses and every field of
 * struct console. Calls to the server are blocking fd_client calls with a
 * short deadline (CONSOLE_CALL_MS), made from the loop thread. The only
 * other thread is the event listener (console.c), which waits on the
 * server's PUB feed and hands "what changed" to the loop through a locked
 * mask and uv_async_send; the loop then re-reads what it shows.
 *
 * Memory: every reply pointer in struct console is a protobuf-c message
 * unpacked by the client library and freed with free_unpacked when it is
 * replaced or when the console locks or exits.
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

/* What an event says must be re-read (bits of console.pending). */
enum {
	CHANGED_TODAY = 1u << 0,
	CHANGED_PHONES = 1u << 1,
	CHANGED_PATIENTS = 1u << 2,
	CHANGED_ALL = 0x7u,
};

enum console_view { VIEW_LOGIN, VIEW_TODAY, VIEW_PHONES, VIEW_PATIENTS, VIEW_BOARD };

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
};

/* The screen pop of one ringing call: patients matched by number. */
struct console_pop {
	int64_t call_id;
	Frontdesk__V1__FindPatientsReply *patients;
	int64_t next_unix_ms[CONSOLE_POP_MAX]; /* 0: none booked */
};

/* The booking panel of the Patients view. */
struct console_booking {
	bool open;
	int64_t patient_id;
	char patient_name[160];
	size_t type_index;
	Frontdesk__V1__ListTypesReply *types;
	Frontdesk__V1__FindSlotsReply *slot; /* the first free slot, once found */
};

struct console {
	struct desk *d;
	uv_loop_t *loop;
	uv_poll_t stdin_watch;
	uv_signal_t winch, sigterm, sighup;
	uv_timer_t idle_timer, heartbeat_timer;
	uv_async_t events_wake;
	bool quit;
	unsigned empty_wakeups; /* stdin readable yet no key: a hung-up tty */

	/* The link and the session. */
	fd_client *client;
	bool connected;
	bool logged_in;
	bool locked;
	char events_url[256];
	char location[64];
	char display_name[160];
	unsigned lock_after_s; /* 0: the session's idle timeout */
	unsigned idle_timeout_s;

	/* Events: written by the listener thread under events_lock. */
	pthread_t events_thread;
	bool events_running;
	atomic_bool events_stop;
	pthread_mutex_t events_lock;
	unsigned pending;
	char events_thread_url[256];

	/* Login and lock screen: user, password, desk. */
	struct console_field login[3];
	int login_focus;

	enum console_view view;
	bool help;
	char status[256]; /* the last outcome or error, shown on screen */
	struct console_prompt prompt;

	/* Today. */
	Frontdesk__V1__ListAppointmentsReply *today;
	size_t today_sel;
	bool today_moved; /* false: the selection follows the next arrival */
	/* The slot a reschedule waits to be confirmed for. */
	int64_t move_id;
	char move_at[40];
	char move_provider[64];
	/* Waiting room: the check-in service's board. */
	Frontdesk__V1__BoardReply *board;
	size_t board_sel;
	/* Phones. */
	Frontdesk__V1__PhoneListCallsReply *calls;
	Frontdesk__V1__PhoneListMessagesReply *messages;
	Frontdesk__V1__PhoneListPresenceReply *presence;
	size_t call_sel;
	struct console_pop pop;
	/* Patients. */
	struct console_field query;
	Frontdesk__V1__FindPatientsReply *found;
	size_t found_sel;
	struct console_booking booking;
};

/* --- console.c ------------------------------------------------------- */

/* `desk console [--desk CODE] [--user NAME] [--location CODE]
 * [--lock-after SECONDS]`: runs until ^Q, q or SIGTERM. */
int console_main(struct desk *d, int argc, char **argv);

/* Calls `method` of `svc` with the console's deadline. On failure the
 * status line says `action: message`, a lost link raises the banner and a
 * lost session locks the screen. Returns the status code. */
int console_call(struct console *c, const ProtobufCServiceDescriptor *svc,
		 const char *method, const ProtobufCMessage *request,
		 ProtobufCMessage **reply, const char *action);
void console_set_status(struct console *c, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
void console_open_prompt(struct console *c, const char *label,
			 console_prompt_done done);
/* Frees every reply that shows patient data (on lock and exit). */
void console_forget(struct console *c);

/* --- console_views.c: reading and acting ----------------------------- */

void console_refresh(struct console *c, unsigned what);
/* Keys of the current view; false when the key means nothing there. */
bool console_view_key(struct console *c, int ch, bool is_key);
/* Answers the first ringing call (F4, or `a` in Phones). */
void console_answer_first(struct console *c);
/* The waiting call the Phones view points at, or NULL. */
const Frontdesk__V1__PhoneCall *console_ringing(const struct console *c);

/* --- console_draw.c -------------------------------------------------- */

void console_draw(struct console *c);
void console_colors(void);
/* Text from the server, escaped (output.c) and clipped to `width`
 * columns at (y, x). */
void console_put(int y, int x, int width, const char *text);

#endif
