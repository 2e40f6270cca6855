-- Patients: the registration record every other part of the clinic points
-- at. Names are stored exactly as given (any script); searchable forms are
-- derived columns with trigram indexes.
--
-- Also here, because they belong to the patient and nothing else: the
-- change history, insurance policies with copays and card images, intake
-- form definitions and completions, immunization records and prescription
-- refill requests. Who made a change is read from the transaction-local
-- setting frontdesk.staff_id, which the handlers set before writing.

CREATE SEQUENCE patient_mrn_seq START 100001;

-- A name's letters sorted within each word, words sorted: "Jonh Smtih" and
-- "Smith John" both give "hjno himst", so swapped letters and swapped words
-- still meet in the trigram index. The "C" collation keeps it immutable.
CREATE FUNCTION patient_name_anagram(name text) RETURNS text
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
  SELECT coalesce(string_agg(w.sorted, ' ' ORDER BY w.sorted COLLATE "C"), '')
  FROM (SELECT (SELECT string_agg(c, '' ORDER BY c COLLATE "C")
                FROM regexp_split_to_table(word, '') AS c) AS sorted
        FROM regexp_split_to_table(lower(name), '\s+') AS word
        WHERE word <> '') AS w
$$;

CREATE TABLE patients (
  id                  bigserial PRIMARY KEY,
  mrn                 text NOT NULL UNIQUE
                        DEFAULT 'MRN' || nextval('patient_mrn_seq')::text,
  family_name         text NOT NULL CHECK (length(family_name) BETWEEN 1 AND 200),
  given_name          text NOT NULL CHECK (length(given_name) BETWEEN 1 AND 200),
  preferred_name      text CHECK (length(preferred_name) <= 200),
  date_of_birth       date NOT NULL CHECK (date_of_birth >= DATE '1880-01-01'),
  sex_at_birth        text CHECK (sex_at_birth IN ('female', 'male', 'intersex', 'unknown')),
  gender_identity     text CHECK (length(gender_identity) <= 100),
  phone_e164          text CHECK (phone_e164 ~ '^\+[1-9][0-9]{6,14}$'),
  email               text CHECK (length(email) <= 254 AND email LIKE '%_@_%'),
  address             text CHECK (length(address) <= 500),
  preferred_language  text CHECK (length(preferred_language) <= 50),
  interpreter_needed  boolean NOT NULL DEFAULT false,
  emergency_contact   text CHECK (length(emergency_contact) <= 300),
  consent_sms         boolean NOT NULL DEFAULT false,
  consent_voice       boolean NOT NULL DEFAULT false,
  consent_email       boolean NOT NULL DEFAULT false,
  merged_into         bigint REFERENCES patients (id),
  created_at          timestamptz NOT NULL DEFAULT now(),
  updated_at          timestamptz NOT NULL DEFAULT now(),
  CHECK (merged_into IS NULL OR merged_into <> id)
);
CREATE INDEX patients_phone_idx ON patients (phone_e164) WHERE merged_into IS NULL;
CREATE INDEX patients_dob_idx ON patients (date_of_birth) WHERE merged_into IS NULL;

-- Added to the core table: a second phone, a version for optimistic
-- concurrency (an update names the version it read), when and why a record
-- was merged, and the two derived search keys.
ALTER TABLE patients
  ADD COLUMN phone2_e164 text CONSTRAINT patients_phone2_e164_check
    CHECK (phone2_e164 ~ '^\+[1-9][0-9]{6,14}$'),
  ADD COLUMN version integer NOT NULL DEFAULT 1 CHECK (version >= 1),
  ADD COLUMN merged_at timestamptz,
  ADD COLUMN merge_reason text CHECK (length(merge_reason) <= 500),
  ADD COLUMN search_name text GENERATED ALWAYS AS
    (lower(given_name || ' ' || family_name)) STORED,
  ADD COLUMN search_anagram text GENERATED ALWAYS AS
    (patient_name_anagram(given_name || ' ' || family_name)) STORED,
  ADD CONSTRAINT patients_merge_consistent
    CHECK ((merged_into IS NULL) = (merged_at IS NULL));
-- The planner prices pg_trgm's % operator like an integer comparison, so
-- on a large table it prefers scanning every row (measured: 450 ms on
-- 100,000 patients) over the trigram indexes (15-85 ms). Telling it the
-- truth fixes the plan for every caller. Only possible when this role owns
-- the extension (it created it in 0001); otherwise search still works,
-- only slower on large tables.
DO $$
BEGIN
  ALTER FUNCTION similarity_op(text, text) COST 100;
EXCEPTION WHEN insufficient_privilege THEN
  RAISE NOTICE 'pg_trgm is owned by another role; name search may scan the whole table';
END
$$;
-- fastupdate off: with it on, new patients queue in each index's pending
-- list (up to 4 MB) until a vacuum, and every search reads that list
-- through. After a bulk load of 100,000 patients that made the two index
-- scans of one search take 19.6 ms instead of 5.6 ms (and the whole search
-- 54 ms instead of 45 ms). Searches far outnumber registrations, so each
-- registration pays its index entries at once.
CREATE INDEX patients_search_name_trgm ON patients USING gin (search_name gin_trgm_ops)
  WITH (fastupdate = off);
CREATE INDEX patients_search_anagram_trgm ON patients USING gin (search_anagram gin_trgm_ops)
  WITH (fastupdate = off);
CREATE INDEX patients_phone2_idx ON patients (phone2_e164) WHERE merged_into IS NULL;
CREATE INDEX patients_merged_into_idx ON patients (merged_into) WHERE merged_into IS NOT NULL;
-- The duplicate check at registration: same name (any case) and birth date.
CREATE INDEX patients_name_dob_idx ON patients (search_name, date_of_birth)
  WHERE merged_into IS NULL;

-- A birth date in the future is refused here as well as in the handler
-- (a CHECK may not read the clock). One day of slack: the desk's local date
-- may be ahead of UTC.
CREATE FUNCTION patients_check_birth_date() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
  IF NEW.date_of_birth > current_date + 1 THEN
    RAISE EXCEPTION 'date of birth is in the future'
      USING ERRCODE = 'check_violation', CONSTRAINT = 'patients_birth_date_not_future';
  END IF;
  RETURN NEW;
END
$$;
CREATE TRIGGER patients_birth_date BEFORE INSERT OR UPDATE OF date_of_birth ON patients
  FOR EACH ROW EXECUTE FUNCTION patients_check_birth_date();

-- Every change to a patient's records: which table and row, who (staff and
-- desk from the transaction's settings), when, and each changed column's
-- old and new value. Rows stay with the patient id they were written for,
-- also after a merge (the survivor's history lists its merged records').
CREATE TABLE patient_history (
  id          bigserial PRIMARY KEY,
  patient_id  bigint NOT NULL REFERENCES patients (id),
  at          timestamptz NOT NULL DEFAULT now(),
  staff_id    bigint REFERENCES staff (id),
  desk_id     bigint REFERENCES desks (id),
  record      text NOT NULL,           -- "patient", "insurance_policy:12", ...
  action      text NOT NULL CHECK (action IN ('created', 'changed', 'merged')),
  changes     jsonb NOT NULL DEFAULT '{}'
);
CREATE INDEX patient_history_patient_idx ON patient_history (patient_id, at, id);

-- The generic history trigger. Columns that are bookkeeping (timestamps,
-- derived keys, the version) or bulky (card images) are left out of the diff.
CREATE FUNCTION patient_history_record() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
  skip   text[] := ARRAY['updated_at', 'created_at', 'version', 'search_name',
                         'search_anagram', 'image'];
  pid    bigint;
  rec    text;
  diff   jsonb;
  act    text;
BEGIN
  IF TG_TABLE_NAME = 'patients' THEN
    pid := NEW.id;
    rec := 'patient';
  ELSE
    pid := (to_jsonb(NEW) ->> 'patient_id')::bigint;
    rec := TG_TABLE_NAME || ':' || (to_jsonb(NEW) ->> 'id');
  END IF;
  IF TG_OP = 'INSERT' THEN
    act := 'created';
    SELECT coalesce(jsonb_object_agg(n.key, jsonb_build_object('new', n.value)), '{}')
      INTO diff
      FROM jsonb_each(to_jsonb(NEW)) n
     WHERE n.key <> ALL (skip) AND n.value <> 'null'::jsonb;
  ELSE
    act := CASE WHEN TG_TABLE_NAME = 'patients'
                     AND (to_jsonb(OLD) ->> 'merged_into') IS NULL
                     AND (to_jsonb(NEW) ->> 'merged_into') IS NOT NULL
                THEN 'merged' ELSE 'changed' END;
    SELECT coalesce(jsonb_object_agg(n.key, jsonb_build_object('old', o.value, 'new', n.value)), '{}')
      INTO diff
      FROM jsonb_each(to_jsonb(NEW)) n JOIN jsonb_each(to_jsonb(OLD)) o USING (key)
     WHERE n.key <> ALL (skip) AND n.value IS DISTINCT FROM o.value;
    IF diff = '{}' THEN
      RETURN NULL;
    END IF;
    -- A row moved to another patient by a merge is recorded for both.
    IF TG_TABLE_NAME <> 'patients' AND (to_jsonb(OLD) ->> 'patient_id')::bigint <> pid THEN
      INSERT INTO patient_history (patient_id, staff_id, desk_id, record, action, changes)
      VALUES ((to_jsonb(OLD) ->> 'patient_id')::bigint,
              nullif(current_setting('frontdesk.staff_id', true), '')::bigint,
              nullif(current_setting('frontdesk.desk_id', true), '')::bigint,
              rec, 'merged', diff);
    END IF;
  END IF;
  INSERT INTO patient_history (patient_id, staff_id, desk_id, record, action, changes)
  VALUES (pid, nullif(current_setting('frontdesk.staff_id', true), '')::bigint,
          nullif(current_setting('frontdesk.desk_id', true), '')::bigint, rec, act, diff);
  RETURN NULL;
END
$$;
CREATE TRIGGER patients_history AFTER INSERT OR UPDATE ON patients
  FOR EACH ROW EXECUTE FUNCTION patient_history_record();

-- ---------------------------------------------------------------- insurance

CREATE TABLE insurance_policies (
  id                      bigserial PRIMARY KEY,
  patient_id              bigint NOT NULL REFERENCES patients (id),
  payer                   text NOT NULL CHECK (length(payer) BETWEEN 1 AND 200),
  plan                    text CHECK (length(plan) <= 200),
  member_id               text NOT NULL CHECK (length(member_id) BETWEEN 1 AND 64),
  group_number            text CHECK (length(group_number) <= 64),
  subscriber_name         text CHECK (length(subscriber_name) <= 200),
  subscriber_relationship text NOT NULL DEFAULT 'self'
    CHECK (subscriber_relationship IN ('self', 'spouse', 'child', 'other')),
  priority                text NOT NULL CHECK (priority IN ('primary', 'secondary', 'tertiary')),
  effective_from          date NOT NULL,
  effective_until         date,
  active                  boolean NOT NULL DEFAULT true,
  last_verified_at        timestamptz,
  last_verified_by        bigint REFERENCES staff (id),
  created_at              timestamptz NOT NULL DEFAULT now(),
  updated_at              timestamptz NOT NULL DEFAULT now(),
  CONSTRAINT insurance_policies_dates_check
    CHECK (effective_until IS NULL OR effective_until >= effective_from),
  CONSTRAINT insurance_policies_verified_check
    CHECK ((last_verified_at IS NULL) = (last_verified_by IS NULL))
);
-- One primary, one secondary, one tertiary among a patient's active policies.
CREATE UNIQUE INDEX insurance_policies_priority_key
  ON insurance_policies (patient_id, priority) WHERE active;
CREATE INDEX insurance_policies_patient_idx ON insurance_policies (patient_id);
CREATE TRIGGER insurance_policies_history AFTER INSERT OR UPDATE ON insurance_policies
  FOR EACH ROW EXECUTE FUNCTION patient_history_record();

-- The copay the patient owes per visit type (a type code as scheduling
-- names it: "new", "follow-up", ...), in cents.
CREATE TABLE insurance_copays (
  policy_id   bigint NOT NULL REFERENCES insurance_policies (id) ON DELETE CASCADE,
  visit_type  text NOT NULL CHECK (visit_type ~ '^[a-z0-9][a-z0-9_-]{0,31}$'),
  copay_cents integer NOT NULL CHECK (copay_cents BETWEEN 0 AND 10000000),
  PRIMARY KEY (policy_id, visit_type)
);

-- Card images, front and back, kept beside the policy. The handler checks
-- the type by its first bytes; the database checks what it can.
CREATE TABLE insurance_cards (
  policy_id    bigint NOT NULL REFERENCES insurance_policies (id),
  side         text NOT NULL CHECK (side IN ('front', 'back')),
  content_type text NOT NULL CHECK (content_type IN ('image/jpeg', 'image/png', 'application/pdf')),
  image        bytea NOT NULL CHECK (length(image) BETWEEN 8 AND 786432),
  uploaded_at  timestamptz NOT NULL DEFAULT now(),
  uploaded_by  bigint NOT NULL REFERENCES staff (id),
  PRIMARY KEY (policy_id, side)
);

-- ------------------------------------------------------------------ intake

-- A form's definition: a code ("medical-history"), a version, when the
-- version is in use, how long a completion stays valid (NULL: forever) and
-- whether readiness requires it.
CREATE TABLE intake_forms (
  id            bigserial PRIMARY KEY,
  code          text NOT NULL CHECK (code ~ '^[a-z0-9][a-z0-9_-]{0,47}$'),
  version       integer NOT NULL CHECK (version >= 1),
  title         text NOT NULL CHECK (length(title) BETWEEN 1 AND 200),
  valid_days    integer CHECK (valid_days BETWEEN 1 AND 36500),
  required      boolean NOT NULL DEFAULT true,
  in_use_from   date NOT NULL DEFAULT current_date,
  in_use_until  date,
  questions     jsonb NOT NULL DEFAULT '[]' CHECK (jsonb_typeof(questions) = 'array'),
  created_at    timestamptz NOT NULL DEFAULT now(),
  CONSTRAINT intake_forms_code_version_key UNIQUE (code, version),
  CONSTRAINT intake_forms_in_use_check CHECK (in_use_until IS NULL OR in_use_until >= in_use_from)
);

CREATE TABLE intake_completions (
  id            bigserial PRIMARY KEY,
  patient_id    bigint NOT NULL REFERENCES patients (id),
  form_id       bigint NOT NULL REFERENCES intake_forms (id),
  completed_at  timestamptz NOT NULL DEFAULT now(),
  recorded_by   bigint NOT NULL REFERENCES staff (id),
  answers       jsonb NOT NULL DEFAULT '{}' CHECK (jsonb_typeof(answers) = 'object')
);
CREATE INDEX intake_completions_patient_idx ON intake_completions (patient_id, form_id, completed_at DESC);
CREATE TRIGGER intake_completions_history AFTER INSERT OR UPDATE ON intake_completions
  FOR EACH ROW EXECUTE FUNCTION patient_history_record();

-- ----------------------------------------------------------------- records

CREATE TABLE immunizations (
  id              bigserial PRIMARY KEY,
  patient_id      bigint NOT NULL REFERENCES patients (id),
  cvx_code        text NOT NULL CHECK (cvx_code ~ '^[0-9]{1,3}$'),
  vaccine_name    text CHECK (length(vaccine_name) <= 200),
  administered_on date NOT NULL CHECK (administered_on >= DATE '1900-01-01'),
  lot_number      text CHECK (length(lot_number) <= 64),
  site            text CHECK (length(site) <= 100),
  source          text NOT NULL CHECK (source IN ('administered', 'historical', 'registry', 'patient_reported')),
  entered_by      bigint NOT NULL REFERENCES staff (id),
  entered_at      timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX immunizations_patient_idx ON immunizations (patient_id, administered_on, id);
CREATE TRIGGER immunizations_history AFTER INSERT OR UPDATE ON immunizations
  FOR EACH ROW EXECUTE FUNCTION patient_history_record();

CREATE TABLE refill_requests (
  id            bigserial PRIMARY KEY,
  patient_id    bigint NOT NULL REFERENCES patients (id),
  medication    text NOT NULL CHECK (length(medication) BETWEEN 1 AND 300),
  pharmacy      text CHECK (length(pharmacy) <= 300),
  requested_by  text NOT NULL CHECK (length(requested_by) BETWEEN 1 AND 200),
  channel       text NOT NULL CHECK (channel IN ('desk', 'phone')),
  status        text NOT NULL DEFAULT 'new'
    CHECK (status IN ('new', 'sent_to_provider', 'approved', 'denied', 'done')),
  created_at    timestamptz NOT NULL DEFAULT now(),
  created_by    bigint NOT NULL REFERENCES staff (id),
  updated_at    timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX refill_requests_queue_idx ON refill_requests (status, created_at)
  WHERE status <> 'done';
CREATE INDEX refill_requests_patient_idx ON refill_requests (patient_id, created_at);
CREATE TRIGGER refill_requests_history AFTER INSERT OR UPDATE ON refill_requests
  FOR EACH ROW EXECUTE FUNCTION patient_history_record();

-- The queue's only moves; the handler names the allowed ones when refusing.
CREATE FUNCTION refill_request_check_step() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
  IF NEW.status IS DISTINCT FROM OLD.status AND NOT (
       (OLD.status = 'new' AND NEW.status IN ('sent_to_provider', 'denied')) OR
       (OLD.status = 'sent_to_provider' AND NEW.status IN ('approved', 'denied')) OR
       (OLD.status IN ('approved', 'denied') AND NEW.status = 'done')) THEN
    RAISE EXCEPTION 'refill request cannot go from % to %', OLD.status, NEW.status
      USING ERRCODE = 'check_violation', CONSTRAINT = 'refill_requests_status_step';
  END IF;
  RETURN NEW;
END
$$;
CREATE TRIGGER refill_requests_step BEFORE UPDATE OF status ON refill_requests
  FOR EACH ROW EXECUTE FUNCTION refill_request_check_step();

-- Who moved a request and when, one row per step (the first is 'new').
CREATE TABLE refill_request_steps (
  id          bigserial PRIMARY KEY,
  refill_id   bigint NOT NULL REFERENCES refill_requests (id),
  status      text NOT NULL CHECK (status IN ('new', 'sent_to_provider', 'approved', 'denied', 'done')),
  at          timestamptz NOT NULL DEFAULT now(),
  staff_id    bigint NOT NULL REFERENCES staff (id),
  note        text CHECK (length(note) <= 1000)
);
CREATE INDEX refill_request_steps_refill_idx ON refill_request_steps (refill_id, at, id);

-- ------------------------------------------------------------------- merge

-- Moves everything that points at the loser to the survivor: every foreign
-- key column that references patients(id) in any table, found in the
-- catalog, so tables added by later migrations (appointments, visits,
-- payments) are moved without this function knowing them. The history
-- stays where it was written. The loser's active policies whose priority
-- the survivor already holds are moved as inactive rather than refused: the
-- desk reviews them afterwards. Table and column names come from the
-- catalog, never from input. Returns the number of rows moved.
CREATE FUNCTION patient_merge(survivor bigint, loser bigint) RETURNS bigint
LANGUAGE plpgsql AS $$
DECLARE
  fk     record;
  moved  bigint := 0;
  n      bigint;
BEGIN
  UPDATE insurance_policies l SET active = false, updated_at = now()
   WHERE l.patient_id = loser AND l.active
     AND EXISTS (SELECT 1 FROM insurance_policies s
                  WHERE s.patient_id = survivor AND s.active AND s.priority = l.priority);
  FOR fk IN
    SELECT c.conrelid::regclass AS tbl, a.attname AS col
      FROM pg_constraint c
      JOIN pg_attribute a ON a.attrelid = c.conrelid AND a.attnum = c.conkey[1]
     WHERE c.contype = 'f' AND c.confrelid = 'patients'::regclass
       AND cardinality(c.conkey) = 1
       AND c.conrelid NOT IN ('patients'::regclass, 'patient_history'::regclass)
     ORDER BY c.conrelid::regclass::text, a.attname
  LOOP
    EXECUTE format('UPDATE %s SET %I = $1 WHERE %I = $2', fk.tbl, fk.col, fk.col)
      USING survivor, loser;
    GET DIAGNOSTICS n = ROW_COUNT;
    moved := moved + n;
  END LOOP;
  -- Records merged into the loser earlier now point at the survivor.
  UPDATE patients SET merged_into = survivor WHERE merged_into = loser;
  RETURN moved;
END
$$;

-- ------------------------------------------------ helpers for the handlers

-- Text as a JSON object, or NULL when it is not one (so a handler can say
-- "answers must be a JSON object" instead of a generic parse error).
CREATE FUNCTION patient_json_object(t text) RETURNS jsonb
LANGUAGE plpgsql IMMUTABLE AS $$
DECLARE
  j jsonb;
BEGIN
  j := t::jsonb;
  RETURN CASE WHEN jsonb_typeof(j) = 'object' THEN j END;
EXCEPTION WHEN others THEN
  RETURN NULL;
END
$$;

-- Same for a JSON array (form questions).
CREATE FUNCTION patient_json_array(t text) RETURNS jsonb
LANGUAGE plpgsql IMMUTABLE AS $$
DECLARE
  j jsonb;
BEGIN
  j := t::jsonb;
  RETURN CASE WHEN jsonb_typeof(j) = 'array' THEN j END;
EXCEPTION WHEN others THEN
  RETURN NULL;
END
$$;

-- Readiness reads tables that later migrations create (appointments from
-- scheduling, balances from payments). These functions look them up at run
-- time so this migration, which runs first, does not depend on them:
--   patient_balance_due: NULL while no relation patient_balances
--     (patient_id bigint, balance_cents bigint) exists, else the sum due;
--   patient_for_appointment: -1 while there is no appointments table,
--     NULL for an unknown appointment, else its patient.
CREATE FUNCTION patient_balance_due(pid bigint) RETURNS bigint
LANGUAGE plpgsql STABLE AS $$
DECLARE
  due bigint;
BEGIN
  IF to_regclass('patient_balances') IS NULL THEN
    RETURN NULL;
  END IF;
  EXECUTE 'SELECT coalesce(sum(balance_cents), 0)::bigint FROM patient_balances'
          ' WHERE patient_id = $1' INTO due USING pid;
  RETURN due;
END
$$;

CREATE FUNCTION patient_for_appointment(appt bigint) RETURNS bigint
LANGUAGE plpgsql STABLE AS $$
DECLARE
  pid bigint;
BEGIN
  IF to_regclass('appointments') IS NULL THEN
    RETURN -1;
  END IF;
  EXECUTE 'SELECT patient_id FROM appointments WHERE id = $1' INTO pid USING appt;
  RETURN pid;
END
$$;
