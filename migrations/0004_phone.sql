-- Phone routing: the lines patients dial, the queues (departments) that
-- answer them, staff extensions, queue membership and presence; routing
-- rules kept as data with the time conditions they consult (opening hours,
-- lunch, holidays, manual overrides, the on-call rota, listed numbers); the
-- call records with their rings and per-queue visits (the metrics come from
-- these); and messages / callbacks.
--
-- The ring logic lives in the database (phone_ring, phone_tick) because it
-- must run the same way from a handler's transaction and from the server's
-- periodic timer, and because the row locks that make "exactly one desk
-- answers" and "round-robin memory" safe belong next to the rows.

CREATE FUNCTION phone_is_e164(n text) RETURNS boolean
LANGUAGE sql IMMUTABLE AS $$ SELECT n ~ '^\+[1-9][0-9]{6,14}$' $$;

CREATE TABLE phone_queues (
  id                 bigserial PRIMARY KEY,
  code               text NOT NULL UNIQUE CHECK (code ~ '^[a-z0-9][a-z0-9-]{0,31}$'),
  name               text NOT NULL CHECK (length(name) BETWEEN 1 AND 200),
  location_id        bigint NOT NULL REFERENCES locations (id),
  strategy           text NOT NULL DEFAULT 'ring_all' CHECK (strategy IN
                       ('ring_all', 'round_robin', 'least_recent', 'fewest_calls', 'linear', 'random')),
  ring_timeout_s     integer NOT NULL DEFAULT 15 CHECK (ring_timeout_s BETWEEN 5 AND 300),
  wrap_up_s          integer NOT NULL DEFAULT 30 CHECK (wrap_up_s BETWEEN 0 AND 3600),
  max_wait_s         integer NOT NULL DEFAULT 300 CHECK (max_wait_s BETWEEN 10 AND 7200),
  max_length         integer NOT NULL DEFAULT 20 CHECK (max_length BETWEEN 1 AND 1000),
  -- Every penalty_widen_s of waiting opens the next penalty tier (0: all
  -- tiers are open from the start, lower tiers still rung first).
  penalty_widen_s    integer NOT NULL DEFAULT 60 CHECK (penalty_widen_s BETWEEN 0 AND 3600),
  overflow           text NOT NULL DEFAULT 'message' CHECK (overflow IN ('queue', 'voicemail', 'message')),
  overflow_queue_id  bigint REFERENCES phone_queues (id),
  service_level_s    integer NOT NULL DEFAULT 30 CHECK (service_level_s BETWEEN 1 AND 3600),
  -- Round-robin memory: the member rung last.
  last_rung_staff_id bigint REFERENCES staff (id),
  CONSTRAINT phone_queues_overflow_target CHECK ((overflow = 'queue') = (overflow_queue_id IS NOT NULL)),
  CHECK (overflow_queue_id IS DISTINCT FROM id)
);

CREATE TABLE phone_lines (
  id          bigserial PRIMARY KEY,
  code        text NOT NULL UNIQUE CHECK (code ~ '^[a-z0-9][a-z0-9-]{0,31}$'),
  name        text NOT NULL CHECK (length(name) BETWEEN 1 AND 200),
  number_e164 text NOT NULL UNIQUE CHECK (phone_is_e164(number_e164)),
  location_id bigint NOT NULL REFERENCES locations (id)
);

CREATE TABLE phone_extensions (
  staff_id  bigint PRIMARY KEY REFERENCES staff (id),
  extension text NOT NULL UNIQUE CHECK (extension ~ '^[0-9]{2,6}$')
);

CREATE TABLE phone_queue_members (
  queue_id bigint NOT NULL REFERENCES phone_queues (id) ON DELETE CASCADE,
  staff_id bigint NOT NULL REFERENCES staff (id),
  penalty  integer NOT NULL DEFAULT 0 CHECK (penalty BETWEEN 0 AND 9),
  position integer NOT NULL DEFAULT 0 CHECK (position BETWEEN 0 AND 1000),
  PRIMARY KEY (queue_id, staff_id)
);

-- Where each staff member is for the phones. Someone who can be rung sits
-- at a desk (the ring goes to that desk's console).
CREATE TABLE phone_presence (
  staff_id           bigint PRIMARY KEY REFERENCES staff (id),
  state              text NOT NULL CHECK (state IN ('available', 'on_call', 'wrap_up', 'away', 'offline')),
  reason             text CHECK (length(reason) BETWEEN 1 AND 100),
  desk_id            bigint REFERENCES desks (id),
  since              timestamptz NOT NULL DEFAULT now(),
  wrap_up_until      timestamptz,
  last_call_ended_at timestamptz,
  CHECK (reason IS NULL OR state = 'away'),
  CHECK ((state = 'wrap_up') = (wrap_up_until IS NOT NULL)),
  CHECK (state IN ('away', 'offline') OR desk_id IS NOT NULL)
);

-- Time conditions per location, in the location's own time zone.
CREATE TABLE phone_hours (
  location_id  bigint NOT NULL REFERENCES locations (id),
  weekday      integer NOT NULL CHECK (weekday BETWEEN 1 AND 7), -- ISO: 1 Monday
  opens        time NOT NULL,
  closes       time NOT NULL,
  lunch_starts time,
  lunch_ends   time,
  PRIMARY KEY (location_id, weekday),
  CONSTRAINT phone_hours_order CHECK (opens < closes AND
    (lunch_starts IS NULL) = (lunch_ends IS NULL) AND
    (lunch_starts IS NULL OR (opens < lunch_starts AND lunch_starts < lunch_ends AND lunch_ends < closes)))
);

CREATE TABLE phone_holidays (
  location_id bigint NOT NULL REFERENCES locations (id),
  day         date NOT NULL,
  name        text NOT NULL CHECK (length(name) BETWEEN 1 AND 200),
  PRIMARY KEY (location_id, day)
);

-- "Closed for weather": a manual override beats hours and holidays.
CREATE TABLE phone_overrides (
  id          bigserial PRIMARY KEY,
  location_id bigint NOT NULL REFERENCES locations (id),
  state       text NOT NULL CHECK (state IN ('closed', 'open')),
  reason      text NOT NULL CHECK (length(reason) BETWEEN 1 AND 200),
  starts_at   timestamptz NOT NULL,
  ends_at     timestamptz NOT NULL DEFAULT 'infinity',
  CHECK (starts_at < ends_at),
  CONSTRAINT phone_overrides_no_overlap EXCLUDE USING gist
    (location_id WITH =, tstzrange(starts_at, ends_at) WITH &&)
);

-- The on-call rota: dated entries, never overlapping for a location.
CREATE TABLE phone_on_call (
  id          bigserial PRIMARY KEY,
  location_id bigint NOT NULL REFERENCES locations (id),
  staff_id    bigint NOT NULL REFERENCES staff (id),
  number_e164 text NOT NULL CHECK (phone_is_e164(number_e164)),
  starts_at   timestamptz NOT NULL,
  ends_at     timestamptz NOT NULL,
  CHECK (starts_at < ends_at),
  CONSTRAINT phone_on_call_no_overlap EXCLUDE USING gist
    (location_id WITH =, tstzrange(starts_at, ends_at) WITH &&)
);

-- Numbers the clinic knows that are not patients: pharmacies, hospitals.
CREATE TABLE phone_listed_numbers (
  number_e164 text PRIMARY KEY CHECK (phone_is_e164(number_e164)),
  name        text NOT NULL CHECK (length(name) BETWEEN 1 AND 200),
  queue_id    bigint NOT NULL REFERENCES phone_queues (id)
);

-- Routing rules, evaluated by ascending priority; the first whose condition
-- holds and whose action can be carried out decides.
CREATE TABLE phone_rules (
  id            bigserial PRIMARY KEY,
  name          text NOT NULL UNIQUE CHECK (name ~ '^[a-z0-9][a-z0-9-]{0,63}$'),
  priority      integer NOT NULL UNIQUE CHECK (priority BETWEEN 1 AND 10000),
  line_id       bigint REFERENCES phone_lines (id), -- NULL: every line
  condition     text NOT NULL CHECK (condition IN ('always', 'open', 'closed', 'after_hours',
                  'lunch', 'holiday', 'override', 'caller_patient', 'caller_patient_today',
                  'caller_listed', 'menu')),
  menu_choice   text CHECK (menu_choice ~ '^[a-z0-9][a-z0-9_-]{0,31}$'),
  action        text NOT NULL CHECK (action IN ('queue', 'listed_queue', 'on_call',
                  'answering_service', 'voicemail', 'message')),
  queue_id      bigint REFERENCES phone_queues (id),
  number_e164   text CHECK (phone_is_e164(number_e164)),
  voicemail_box text CHECK (voicemail_box ~ '^[a-z0-9][a-z0-9_-]{0,31}$'),
  CHECK ((condition = 'menu') = (menu_choice IS NOT NULL)),
  CHECK ((action IN ('queue', 'message')) = (queue_id IS NOT NULL)),
  CHECK ((action = 'answering_service') = (number_e164 IS NOT NULL)),
  CHECK ((action = 'voicemail') = (voicemail_box IS NOT NULL)),
  CHECK (action <> 'listed_queue' OR condition = 'caller_listed')
);

-- A rule set must end in a fallback that always decides: checked at
-- commit, so a set may be rebuilt inside one transaction.
CREATE FUNCTION phone_rules_have_fallback() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
  IF EXISTS (SELECT 1 FROM phone_rules) AND NOT EXISTS (
       SELECT 1 FROM phone_rules WHERE condition = 'always' AND line_id IS NULL
          AND action IN ('queue', 'voicemail', 'message', 'answering_service')) THEN
    RAISE EXCEPTION 'the routing rules have no fallback' USING ERRCODE = 'P0001';
  END IF;
  RETURN NULL;
END
$$;
CREATE CONSTRAINT TRIGGER phone_rules_fallback AFTER INSERT OR UPDATE OR DELETE ON phone_rules
  DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION phone_rules_have_fallback();

-- One row per call. `waiting_since` is when the current wait began (queue
-- entry); the visits below keep the per-queue history.
CREATE TABLE phone_calls (
  id               bigserial PRIMARY KEY,
  line_id          bigint NOT NULL REFERENCES phone_lines (id),
  caller_e164      text NOT NULL CHECK (phone_is_e164(caller_e164)),
  menu_choice      text CHECK (menu_choice ~ '^[a-z0-9][a-z0-9_-]{0,31}$'),
  received_at      timestamptz NOT NULL DEFAULT now(),
  state            text NOT NULL CHECK (state IN ('waiting', 'connected', 'on_hold', 'ended')),
  queue_id         bigint REFERENCES phone_queues (id),
  target_staff_id  bigint REFERENCES staff (id),
  waiting_since    timestamptz,
  ring_cycle       integer NOT NULL DEFAULT 0,
  answered_by      bigint REFERENCES staff (id),
  answered_desk_id bigint REFERENCES desks (id),
  answered_at      timestamptz,
  held_at          timestamptz,
  ended_at         timestamptz,
  disposition      text CHECK (disposition IN ('handled', 'message_taken', 'voicemail',
                     'abandoned', 'wrong_number', 'forwarded')),
  forwarded_to     text CHECK (phone_is_e164(forwarded_to)),
  voicemail_box    text,
  rule_name        text NOT NULL,
  route_reason     text NOT NULL,
  patient_id       bigint REFERENCES patients (id),
  CHECK ((state = 'waiting') = (waiting_since IS NOT NULL)),
  CHECK (state <> 'waiting' OR ((queue_id IS NOT NULL) <> (target_staff_id IS NOT NULL))),
  CHECK (state NOT IN ('connected', 'on_hold') OR answered_by IS NOT NULL),
  CHECK ((state = 'on_hold') = (held_at IS NOT NULL)),
  CHECK ((state = 'ended') = (ended_at IS NOT NULL)),
  CHECK ((state = 'ended') = (disposition IS NOT NULL))
);
CREATE INDEX phone_calls_live_idx ON phone_calls (waiting_since) WHERE state <> 'ended';
CREATE INDEX phone_calls_received_idx ON phone_calls (received_at);

-- Only these state changes exist; an ended call stays ended.
CREATE FUNCTION phone_calls_transition() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
  IF OLD.state = NEW.state AND OLD.state <> 'ended' THEN
    RETURN NEW;
  END IF;
  IF (OLD.state, NEW.state) IN (('waiting', 'connected'), ('waiting', 'ended'),
       ('connected', 'on_hold'), ('on_hold', 'connected'), ('connected', 'waiting'),
       ('on_hold', 'waiting'), ('connected', 'ended'), ('on_hold', 'ended'))
     OR (OLD.state = 'ended' AND NEW.state = 'ended'
         AND (OLD.disposition, OLD.ended_at, OLD.answered_by)
             IS NOT DISTINCT FROM (NEW.disposition, NEW.ended_at, NEW.answered_by)) THEN
    RETURN NEW;
  END IF;
  RAISE EXCEPTION 'a call cannot go from % to %', OLD.state, NEW.state USING ERRCODE = 'P0001';
END
$$;
CREATE TRIGGER phone_calls_transition BEFORE UPDATE ON phone_calls
  FOR EACH ROW EXECUTE FUNCTION phone_calls_transition();

-- A ring: one desk's phone ringing for one call.
CREATE TABLE phone_rings (
  id         bigserial PRIMARY KEY,
  call_id    bigint NOT NULL REFERENCES phone_calls (id),
  staff_id   bigint NOT NULL REFERENCES staff (id),
  desk_id    bigint NOT NULL REFERENCES desks (id),
  cycle      integer NOT NULL,
  started_at timestamptz NOT NULL DEFAULT now(),
  stopped_at timestamptz,
  outcome    text CHECK (outcome IN ('answered', 'timeout', 'stopped')),
  CHECK ((stopped_at IS NULL) = (outcome IS NULL))
);
CREATE UNIQUE INDEX phone_rings_open_idx ON phone_rings (call_id, staff_id) WHERE stopped_at IS NULL;
CREATE INDEX phone_rings_staff_idx ON phone_rings (staff_id) WHERE stopped_at IS NULL;

-- A call's stay in one queue (or with one person after a transfer): the
-- unit service-level metrics count.
CREATE TABLE phone_visits (
  id          bigserial PRIMARY KEY,
  call_id     bigint NOT NULL REFERENCES phone_calls (id),
  queue_id    bigint REFERENCES phone_queues (id),
  staff_id    bigint REFERENCES staff (id),
  entered_at  timestamptz NOT NULL,
  answered_at timestamptz,
  answered_by bigint REFERENCES staff (id),
  left_at     timestamptz,
  outcome     text CHECK (outcome IN ('handled', 'abandoned', 'overflowed', 'transferred', 'message_taken')),
  CHECK ((queue_id IS NULL) <> (staff_id IS NULL)),
  CHECK ((left_at IS NULL) = (outcome IS NULL)),
  CHECK ((answered_at IS NULL) = (answered_by IS NULL)),
  CHECK (answered_at IS NULL OR answered_at >= entered_at),
  CHECK (left_at IS NULL OR left_at >= coalesce(answered_at, entered_at))
);
CREATE UNIQUE INDEX phone_visits_open_idx ON phone_visits (call_id) WHERE left_at IS NULL;
CREATE INDEX phone_visits_queue_idx ON phone_visits (queue_id, entered_at);

-- Messages and callbacks. `place_at` is the caller's place in line: the
-- time the original call arrived, so a callback is offered before calls
-- that came in after it.
CREATE TABLE phone_messages (
  id              bigserial PRIMARY KEY,
  call_id         bigint REFERENCES phone_calls (id),
  for_staff_id    bigint REFERENCES staff (id),
  for_queue_id    bigint REFERENCES phone_queues (id),
  caller_name     text CHECK (length(caller_name) BETWEEN 1 AND 200),
  callback_e164   text NOT NULL CHECK (phone_is_e164(callback_e164)),
  patient_id      bigint REFERENCES patients (id),
  reason          text NOT NULL CHECK (length(reason) BETWEEN 1 AND 1000),
  urgency         text NOT NULL DEFAULT 'routine' CHECK (urgency IN ('routine', 'urgent')),
  taken_by        bigint REFERENCES staff (id),
  taken_at        timestamptz NOT NULL DEFAULT now(),
  place_at        timestamptz NOT NULL,
  callback_due_at timestamptz,
  done_at         timestamptz,
  done_by         bigint REFERENCES staff (id),
  CONSTRAINT phone_messages_one_inbox CHECK (num_nonnulls(for_staff_id, for_queue_id) = 1),
  CHECK ((done_at IS NULL) = (done_by IS NULL)),
  CHECK (place_at <= taken_at)
);
CREATE INDEX phone_messages_open_idx ON phone_messages (place_at) WHERE done_at IS NULL;

-- The location's time state at `at`: open, after_hours, lunch, holiday or
-- override (closed by hand), with a reason a receptionist can read.
CREATE FUNCTION phone_time_state(loc bigint, at timestamptz, OUT state text, OUT reason text)
LANGUAGE plpgsql STABLE AS $$
DECLARE
  zone text;
  local_at timestamp;
  o phone_overrides;
  h phone_hours;
  holiday text;
BEGIN
  SELECT time_zone INTO zone FROM locations WHERE id = loc;
  local_at := at AT TIME ZONE zone;
  SELECT * INTO o FROM phone_overrides
   WHERE location_id = loc AND starts_at <= at AND at < ends_at;
  IF FOUND THEN
    state := CASE o.state WHEN 'closed' THEN 'override' ELSE 'open' END;
    reason := 'manual override (' || o.state || '): ' || o.reason;
    RETURN;
  END IF;
  -- The phone's own holidays and scheduling's (clinic-wide when their
  -- location is NULL): one calendar for booking and for the phones.
  SELECT hd.name INTO holiday FROM (
      SELECT name FROM phone_holidays WHERE location_id = loc AND day = local_at::date
      UNION ALL
      SELECT name FROM holidays WHERE (location_id = loc OR location_id IS NULL)
         AND day = local_at::date) hd
   LIMIT 1;
  IF FOUND THEN
    state := 'holiday';
    reason := 'holiday: ' || holiday;
    RETURN;
  END IF;
  SELECT * INTO h FROM phone_hours
   WHERE location_id = loc AND weekday = extract(isodow FROM local_at)::integer;
  IF NOT FOUND OR local_at::time < h.opens OR local_at::time >= h.closes THEN
    state := 'after_hours';
    reason := 'after hours: ' || to_char(local_at, 'Dy HH24:MI') || ' local time';
  ELSIF h.lunch_starts IS NOT NULL AND local_at::time >= h.lunch_starts
        AND local_at::time < h.lunch_ends THEN
    state := 'lunch';
    reason := 'lunch closure until ' || to_char(h.lunch_ends, 'HH24:MI');
  ELSE
    state := 'open';
    reason := 'open: ' || to_char(local_at, 'Dy HH24:MI') || ' local time';
  END IF;
END
$$;

-- Raises a live event (delivered at commit, like db_notify).
CREATE FUNCTION phone_event(topic text, subject text) RETURNS void
LANGUAGE sql AS $$ SELECT pg_notify('frontdesk_events', topic || chr(9) || subject) $$;

-- Who may be rung for a waiting queue call now, best first, per the queue's
-- strategy: available members, lower penalty tiers first, higher tiers only
-- once the caller has waited penalty_widen_s per tier; sequential
-- strategies skip members already tried in this ring cycle and members
-- ringing for another call.
CREATE FUNCTION phone_candidates(p_call bigint)
RETURNS TABLE (staff_id bigint, desk_id bigint, penalty integer, rank bigint)
LANGUAGE sql STABLE AS $$
  WITH c AS (SELECT * FROM phone_calls WHERE id = p_call AND state = 'waiting'),
  q AS (SELECT q.* FROM phone_queues q JOIN c ON c.queue_id = q.id),
  lr AS (SELECT m.position, m.staff_id FROM phone_queue_members m, q
          WHERE m.queue_id = q.id AND m.staff_id = q.last_rung_staff_id),
  cap AS (SELECT CASE WHEN q.penalty_widen_s = 0 THEN 9
                 ELSE (SELECT coalesce(min(m.penalty), 0) FROM phone_queue_members m WHERE m.queue_id = q.id)
                      + (extract(epoch FROM now() - c.waiting_since)::integer / q.penalty_widen_s) END AS max_penalty
            FROM q, c),
  day AS (SELECT (date_trunc('day', now() AT TIME ZONE l.time_zone)) AT TIME ZONE l.time_zone AS starts
            FROM q JOIN locations l ON l.id = q.location_id),
  eligible AS (
    SELECT m.staff_id, p.desk_id, m.penalty, m.position, p.last_call_ended_at,
           (SELECT count(*) FROM phone_visits v, day
             WHERE v.queue_id = q.id AND v.answered_by = m.staff_id AND v.answered_at >= day.starts) AS calls_today
      FROM q JOIN phone_queue_members m ON m.queue_id = q.id
      JOIN phone_presence p ON p.staff_id = m.staff_id AND p.state = 'available'
      JOIN staff s ON s.id = m.staff_id AND s.active, cap, c
     WHERE m.penalty <= cap.max_penalty
       AND (q.strategy = 'ring_all' OR NOT EXISTS (
             SELECT 1 FROM phone_rings r WHERE r.staff_id = m.staff_id AND r.stopped_at IS NULL))
       AND (q.strategy = 'ring_all' OR NOT EXISTS (
             SELECT 1 FROM phone_rings r WHERE r.call_id = c.id AND r.staff_id = m.staff_id
                AND r.cycle = c.ring_cycle))),
  tier AS (SELECT e.* FROM eligible e WHERE e.penalty = (SELECT min(penalty) FROM eligible))
  SELECT t.staff_id, t.desk_id, t.penalty,
         row_number() OVER (ORDER BY
           CASE q.strategy
             WHEN 'round_robin' THEN
               CASE WHEN lr.staff_id IS NOT NULL AND (t.position, t.staff_id) <= (lr.position, lr.staff_id)
                    THEN 1 ELSE 0 END
             WHEN 'least_recent' THEN 0
             WHEN 'fewest_calls' THEN t.calls_today
             WHEN 'random' THEN 0
             ELSE 0 END,
           CASE WHEN q.strategy = 'least_recent' THEN t.last_call_ended_at END ASC NULLS FIRST,
           CASE WHEN q.strategy = 'random' THEN random() END,
           t.position, t.staff_id)
    FROM tier t CROSS JOIN q LEFT JOIN lr ON true
$$;

-- Starts ringing a waiting call: every candidate for ring_all, the best one
-- for the sequential strategies (none while one is still ringing), the
-- transfer target for a call sent to a person. When every member has been
-- tried, a new cycle begins. Returns how many rings started. The caller
-- holds the call's row lock; the queue row lock taken here serialises the
-- round-robin memory between concurrent calls.
CREATE FUNCTION phone_ring(p_call bigint) RETURNS integer
LANGUAGE plpgsql AS $$
DECLARE
  c phone_calls;
  q phone_queues;
  cand record;
  started integer := 0;
BEGIN
  SELECT * INTO c FROM phone_calls WHERE id = p_call;
  IF NOT FOUND OR c.state <> 'waiting' THEN
    RETURN 0;
  END IF;
  IF c.target_staff_id IS NOT NULL THEN
    FOR cand IN
      INSERT INTO phone_rings (call_id, staff_id, desk_id, cycle)
      SELECT c.id, p.staff_id, p.desk_id, c.ring_cycle FROM phone_presence p
       WHERE p.staff_id = c.target_staff_id AND p.state = 'available'
      ON CONFLICT (call_id, staff_id) WHERE stopped_at IS NULL DO NOTHING
      RETURNING staff_id, desk_id
    LOOP
      PERFORM phone_event('phone.ringing', format('call:%s desk:%s staff:%s', c.id, cand.desk_id, cand.staff_id));
      started := started + 1;
    END LOOP;
    RETURN started;
  END IF;
  SELECT * INTO q FROM phone_queues WHERE id = c.queue_id FOR UPDATE;
  IF q.strategy <> 'ring_all' AND EXISTS (
       SELECT 1 FROM phone_rings WHERE call_id = c.id AND stopped_at IS NULL) THEN
    RETURN 0;
  END IF;
  FOR pass IN 1..2 LOOP
    FOR cand IN SELECT * FROM phone_candidates(c.id) ORDER BY rank LOOP
      INSERT INTO phone_rings (call_id, staff_id, desk_id, cycle)
      VALUES (c.id, cand.staff_id, cand.desk_id, c.ring_cycle)
      ON CONFLICT (call_id, staff_id) WHERE stopped_at IS NULL DO NOTHING;
      IF FOUND THEN
        PERFORM phone_event('phone.ringing', format('call:%s desk:%s staff:%s', c.id, cand.desk_id, cand.staff_id));
        started := started + 1;
      END IF;
      IF q.strategy <> 'ring_all' THEN
        UPDATE phone_queues SET last_rung_staff_id = cand.staff_id WHERE id = q.id;
        RETURN started;
      END IF;
    END LOOP;
    -- Sequential strategies: everyone available was tried; start over.
    IF q.strategy = 'ring_all' OR pass = 2 OR NOT EXISTS (
         SELECT 1 FROM phone_rings WHERE call_id = c.id AND cycle = c.ring_cycle) THEN
      RETURN started;
    END IF;
    UPDATE phone_calls SET ring_cycle = ring_cycle + 1 WHERE id = c.id RETURNING * INTO c;
  END LOOP;
  RETURN started;
END
$$;

-- Stops the open rings of a call (except one staff member's, whose ring
-- becomes the answer), telling each desk its phone stopped.
CREATE FUNCTION phone_stop_rings(p_call bigint, p_outcome text, p_except bigint) RETURNS void
LANGUAGE plpgsql AS $$
DECLARE
  r record;
BEGIN
  FOR r IN UPDATE phone_rings SET stopped_at = now(),
             outcome = CASE WHEN staff_id = p_except THEN 'answered' ELSE p_outcome END
            WHERE call_id = p_call AND stopped_at IS NULL
        RETURNING staff_id, desk_id
  LOOP
    PERFORM phone_event('phone.ring_stopped', format('call:%s desk:%s staff:%s', p_call, r.desk_id, r.staff_id));
  END LOOP;
END
$$;

-- A call that waited past its queue's maximum leaves by the queue's
-- overflow: another queue (a fresh wait there), voicemail, or a callback
-- message that keeps the caller's place in line.
CREATE FUNCTION phone_overflow(p_call bigint) RETURNS void
LANGUAGE plpgsql AS $$
DECLARE
  c phone_calls;
  q phone_queues;
BEGIN
  SELECT * INTO c FROM phone_calls WHERE id = p_call;
  SELECT * INTO q FROM phone_queues WHERE id = c.queue_id;
  PERFORM phone_stop_rings(c.id, 'stopped', NULL);
  UPDATE phone_visits SET left_at = now(),
         outcome = CASE q.overflow WHEN 'message' THEN 'message_taken' ELSE 'overflowed' END
   WHERE call_id = c.id AND left_at IS NULL;
  IF q.overflow = 'queue' THEN
    UPDATE phone_calls SET queue_id = q.overflow_queue_id, waiting_since = now(), ring_cycle = 0,
           route_reason = 'overflow from ' || q.code || ' after ' || q.max_wait_s || ' s'
     WHERE id = c.id;
    INSERT INTO phone_visits (call_id, queue_id, entered_at) VALUES (c.id, q.overflow_queue_id, now());
    PERFORM phone_ring(c.id);
  ELSIF q.overflow = 'voicemail' THEN
    UPDATE phone_calls SET state = 'ended', waiting_since = NULL, ended_at = now(),
           disposition = 'voicemail', voicemail_box = q.code
     WHERE id = c.id;
  ELSE
    INSERT INTO phone_messages (call_id, for_queue_id, callback_e164, reason, urgency, place_at, callback_due_at)
    VALUES (c.id, q.id, c.caller_e164, 'caller waited ' || q.max_wait_s || ' s in ' || q.code || '; call back',
            'routine', c.received_at, now());
    UPDATE phone_calls SET state = 'ended', waiting_since = NULL, ended_at = now(),
           disposition = 'message_taken'
     WHERE id = c.id;
    PERFORM phone_event('phone.message', 'queue:' || q.id);
  END IF;
  PERFORM phone_event('phone.call', 'call:' || c.id);
END
$$;

-- The phone housekeeping the server runs every second: wrap-up timers run
-- out, overflow after the maximum wait, ring timeouts advance to the next
-- member, and waiting calls ring members who became free. Calls another
-- server is working on are skipped (SKIP LOCKED), never waited for.
CREATE FUNCTION phone_tick() RETURNS void
LANGUAGE plpgsql AS $$
DECLARE
  s record;
  c record;
BEGIN
  FOR s IN UPDATE phone_presence SET state = 'available', wrap_up_until = NULL, since = now()
            WHERE state = 'wrap_up' AND wrap_up_until <= now() RETURNING staff_id
  LOOP
    PERFORM phone_event('phone.presence', 'staff:' || s.staff_id);
  END LOOP;
  FOR c IN SELECT pc.id FROM phone_calls pc JOIN phone_queues q ON q.id = pc.queue_id
            WHERE pc.state = 'waiting'
              AND pc.waiting_since + q.max_wait_s * interval '1 second' <= now()
            ORDER BY pc.waiting_since FOR UPDATE OF pc SKIP LOCKED
  LOOP
    PERFORM phone_overflow(c.id);
  END LOOP;
  FOR c IN SELECT pc.id, q.strategy, q.ring_timeout_s FROM phone_calls pc
             LEFT JOIN phone_queues q ON q.id = pc.queue_id
            WHERE pc.state = 'waiting' ORDER BY pc.waiting_since
            FOR UPDATE OF pc SKIP LOCKED
  LOOP
    IF c.strategy IS DISTINCT FROM 'ring_all' AND c.strategy IS NOT NULL AND EXISTS (
         SELECT 1 FROM phone_rings WHERE call_id = c.id AND stopped_at IS NULL
            AND started_at + c.ring_timeout_s * interval '1 second' <= now()) THEN
      PERFORM phone_stop_rings(c.id, 'timeout', NULL);
    END IF;
    PERFORM phone_ring(c.id);
  END LOOP;
END
$$;
