/*
 * Patient search by name words (migrations/0011_name_words.sql), through
 * the real server: each typed word may carry one slip (a letter dropped,
 * added, wrong, or two swapped), words typed run together are split, the
 * preferred name counts, apostrophes and hyphens do not get in the way, a
 * rename is searchable at once, and when nobody carries every typed word
 * the rarer word (as typed, or through its near words when nobody
 * carries it as typed) decides what the desk sees. test_patients.c holds the
 * earlier search cases (typos, swapped words, accents, filters); how fast
 * this is belongs to `make bench`.
 */
#include "e2e.h"
#include "frontdesk/v1/patients.pb-c.h"

#define PATIENTS_SVC (&frontdesk__v1__patients__descriptor)

static tp_server srv;
static char db[64];
static fd_client *desk;

static bool up(void)
{
	if (srv.pid > 0)
		return true;
	if (!e2e_start(&srv, db, sizeof db, "patsearch", NULL))
		return false;
	desk = tp_client(&srv);
	return tp_login(desk, "reception1", "front-1") == FD_OK;
}

/* Registers a person (preferred name optional) and returns the new id,
 * 0 on failure. */
static int64_t register_person(const char *given, const char *family, const char *preferred,
			       const char *dob)
{
	Frontdesk__V1__RegisterPatientRequest req = FRONTDESK__V1__REGISTER_PATIENT_REQUEST__INIT;
	Frontdesk__V1__PatientFields f = FRONTDESK__V1__PATIENT_FIELDS__INIT;
	Frontdesk__V1__RegisterPatientReply *rep = NULL;
	fd_status st;
	int64_t id = 0;

	f.given_name = (char *)given;
	f.family_name = (char *)family;
	f.preferred_name = (char *)(preferred ? preferred : "");
	f.date_of_birth = (char *)dob;
	req.fields = &f;
	req.confirm_not_duplicate = true;
	if (tp_call(desk, PATIENTS_SVC, "RegisterPatient", &req.base, (ProtobufCMessage **)&rep,
		    &st) == FD_OK) {
		id = rep->patient ? rep->patient->id : 0;
		protobuf_c_message_free_unpacked(&rep->base, NULL);
	} else {
		printf("    register: %s\n", st.message);
	}
	return id;
}

/* The ids FindPatients answers for a typed name, best first: how many,
 * with the first few in ids. */
static size_t find(const char *typed, int64_t *ids, size_t max)
{
	Frontdesk__V1__FindPatientsRequest req = FRONTDESK__V1__FIND_PATIENTS_REQUEST__INIT;
	Frontdesk__V1__FindPatientsReply *rep = NULL;
	fd_status st;
	size_t n = 0;

	req.name = (char *)typed;
	if (tp_call(desk, PATIENTS_SVC, "FindPatients", &req.base, (ProtobufCMessage **)&rep,
		    &st) != FD_OK) {
		printf("    find \"%s\": %s\n", typed, st.message);
		return 0;
	}
	n = rep->n_patients;
	for (size_t i = 0; i < n && i < max; i++)
		ids[i] = rep->patients[i]->id;
	protobuf_c_message_free_unpacked(&rep->base, NULL);
	return n;
}

/* The typed name finds the patient first. */
static bool finds_first(const char *typed, int64_t id)
{
	int64_t ids[1] = { 0 };
	size_t n = find(typed, ids, 1);

	if (n >= 1 && ids[0] == id)
		return true;
	printf("    \"%s\": %zu found, first %lld, wanted %lld\n", typed, n, (long long)ids[0],
	       (long long)id);
	return false;
}

static void one_slip_in_each_word_finds_the_patient(void)
{
	CHECK(up());
	int64_t id = register_person("Ottilie", "Marchbanks", NULL, "1948-05-06");
	CHECK(id > 0);
	CHECK(register_person("Ottoline", "Marchant", NULL, "1950-01-02") > 0);
	CHECK(finds_first("Otilie Marchbanks", id));  /* a letter dropped */
	CHECK(finds_first("Ottillie Marchbanks", id)); /* a letter added */
	CHECK(finds_first("Ottilie Marchbanxs", id));  /* a wrong letter */
	CHECK(finds_first("Ottilie Marchbnaks", id));  /* two letters swapped */
	CHECK(finds_first("Otilie Marhcbanks", id));   /* one slip in each word */
	CHECK(finds_first("marchbanks ottilie", id));  /* words the other way round */
}

static void words_typed_without_the_space_are_split(void)
{
	CHECK(up());
	int64_t id = register_person("Radomir", "Vukovljak", NULL, "1977-07-07");
	CHECK(id > 0);
	CHECK(finds_first("radomirvukovljak", id));
	CHECK(finds_first("Vukovljakradomir", id));
}

static void a_lone_initial_only_ranks(void)
{
	CHECK(up());
	int64_t id = register_person("Zephaniah", "Quellgrove", NULL, "1965-03-03");
	CHECK(id > 0);
	CHECK(finds_first("Z Quellgrove", id));
	CHECK(finds_first("Z. Quellgrove", id));
}

static void the_preferred_name_finds_the_patient(void)
{
	CHECK(up());
	int64_t id = register_person("Wilhelmina", "Thistlethwaite", "Mina", "1959-09-09");
	CHECK(id > 0);
	CHECK(finds_first("Mina Thistlethwaite", id));
	CHECK(finds_first("Wilhelmina Thistlethwaite", id));
}

static void apostrophes_hyphens_and_accents_do_not_get_in_the_way(void)
{
	CHECK(up());
	int64_t id = register_person("Siobhán", "O'Donoghue-Rafferty", NULL, "1981-11-12");
	CHECK(id > 0);
	CHECK(finds_first("siobhan odonoghue", id));
	CHECK(finds_first("Siobhan Rafferty", id));
	CHECK(finds_first("Siobhán O'Donoghue-Rafferty", id));
	int64_t li = register_person("小龍", "李", NULL, "1940-11-27");
	CHECK(li > 0);
	CHECK(finds_first("李 小龍", li));
}

static void a_renamed_patient_is_found_by_the_new_name_at_once(void)
{
	fd_status st;

	CHECK(up());
	int64_t id = register_person("Perpetua", "Wolstenholme", NULL, "1970-04-04");
	CHECK(id > 0);
	CHECK_INT(call_rename_family(desk, id, "Abercrombie-Sallis", 1, &st), FD_OK);
	CHECK(finds_first("Perpetua Abercrombie", id));
	CHECK(finds_first("Perpetua Salis", id));
}

/* Nobody is called Ermengarde Pumphrey: the desk sees the one Pumphrey
 * first, not every Ermengarde. */
static void when_nobody_carries_every_word_the_rarer_word_decides(void)
{
	int64_t ids[20];

	CHECK(up());
	CHECK(register_person("Ermengarde", "Tolliver", NULL, "1931-01-01") > 0);
	CHECK(register_person("Ermengarde", "Quist", NULL, "1932-02-02") > 0);
	CHECK(register_person("Ermengarde", "Haverstock", NULL, "1933-03-03") > 0);
	int64_t id = register_person("Cuthbert", "Pumphrey", NULL, "1934-04-04");
	CHECK(id > 0);
	size_t n = find("Ermengarde Pumphrey", ids, 20);
	CHECK(n >= 1);
	CHECK(ids[0] == id);
	CHECK_MSG(n == 1, "%zu found: the Ermengardes came along", n);
}

/* The rarer word may be one typed with a slip: "Ermengarde Pumphry"
 * (nobody carries "pumphry" as typed, one patient carries its near word
 * "pumphrey") shows the Pumphrey, not the three Ermengardes carried as
 * typed (migrations/0017). */
static void a_slipped_rare_word_beats_a_common_word_typed_right(void)
{
	int64_t ids[20];

	CHECK(up());
	int64_t id = tp_db_scalar(db, "SELECT id FROM patients WHERE family_name = 'Pumphrey'");
	CHECK(id > 0);
	size_t n = find("Ermengarde Pumphry", ids, 20);
	CHECK(n >= 1);
	CHECK(ids[0] == id);
	CHECK_MSG(n == 1, "%zu found: the Ermengardes came along", n);
}

/* Two typed words near each other need two words of the patient, one
 * near each (migrations/0016): "Marta Marte" is not every Marta. */
static void two_typed_words_need_two_words_of_the_patient(void)
{
	int64_t ids[20];

	CHECK(up());
	CHECK(register_person("Marta", "Ollerenshaw", NULL, "1941-05-05") > 0);
	CHECK(register_person("Marta", "Featherstonehaugh", NULL, "1942-06-06") > 0);
	int64_t id = register_person("Marta", "Marte", NULL, "1943-07-07");
	CHECK(id > 0);
	size_t n = find("Marta Marte", ids, 20);
	CHECK(n >= 1);
	CHECK(ids[0] == id);
	CHECK_MSG(n == 1, "%zu found: every Marta came along", n);
	/* One slip still finds her. */
	n = find("Marta Mrate", ids, 20);
	CHECK(n >= 1 && ids[0] == id);
}

static void a_name_nobody_resembles_finds_nobody(void)
{
	int64_t ids[1];

	CHECK(up());
	CHECK_INT((int)find("Xqzvwk Jjjyyb", ids, 1), 0);
}

static void server_exits_cleanly(void)
{
	CHECK(up());
	fd_client_close(desk);
	desk = NULL;
	e2e_stop(&srv);
}

TH_MAIN(TH_CASE(one_slip_in_each_word_finds_the_patient),
	TH_CASE(words_typed_without_the_space_are_split), TH_CASE(a_lone_initial_only_ranks),
	TH_CASE(the_preferred_name_finds_the_patient),
	TH_CASE(apostrophes_hyphens_and_accents_do_not_get_in_the_way),
	TH_CASE(a_renamed_patient_is_found_by_the_new_name_at_once),
	TH_CASE(when_nobody_carries_every_word_the_rarer_word_decides),
	TH_CASE(a_slipped_rare_word_beats_a_common_word_typed_right),
	TH_CASE(two_typed_words_need_two_words_of_the_patient),
	TH_CASE(a_name_nobody_resembles_finds_nobody), TH_CASE(server_exits_cleanly))
