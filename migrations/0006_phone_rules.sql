-- Phone routing, second part: care teams with their nurse line (a patient
-- of a provider whose team has a nurse line can be routed there), callbacks
-- that are offered to a free queue member ahead of later calls, and queue
-- overflow chains that can never loop.
--
-- 0004's functions are replaced here (CREATE OR REPLACE) rather than
-- edited: 0004 is released.

-- --- care teams ---------------------------------------------------------------

-- A care team: providers who share nurses. Its nurse line is the queue a
-- patient of one of its providers reaches through a 'caller_care_team'
-- rule; a team without one is skipped by the rule.
CREATE TABLE phone_care_teams (
  id             bigserial PRIMARY KEY,
  code           text NOT NULL UNIQUE CHECK (code ~ '^[a-z0-9][a-z0-9-]{0,31}$'),
  name           text NOT NULL CHECK (length(name) BETWEEN 1 AND 200),
  nurse_queue_id bigint REFERENCES phone_queues (id)
);

-- A provider belongs to at most one care team.
CREATE TABLE phone_care_team_providers (
  provider_id bigint PRIMARY KEY REFERENCES providers (id),
  team_id     bigint NOT NULL REFERENCES phone_care_teams (id)
);
CREATE INDEX phone_care_team_providers_team_idx ON phone_care_team_providers (team_id);

-- The caller's care team at `at`. Patients carry no primary provider, so a
-- patient's provider is the one of their next appointment (not cancelled,
-- no-show or rescheduled), else of their latest one. Of the patients on the
-- number (a household), the one whose appointment is nearest wins, teams
-- with a nurse line first (patient_id says whose appointment decided, for
-- the audit log). All NULL, or a NULL queue, when nothing applies.
CREATE FUNCTION phone_care_team_of_caller(p_from text, p_at timestamptz,
  OUT queue_id bigint, OUT queue_code text, OUT team_code text, OUT provider_name text,
  OUT basis text, OUT patient_id bigint)
LANGUAGE sql STABLE AS $$
  WITH own AS (
    SELECT DISTINCT ON (pt.id) pt.id AS patient_id, a.provider_id, a.starts_at,
           a.starts_at >= p_at AS upcoming
      FROM patients pt JOIN appointments a ON a.patient_id = pt.id
     WHERE pt.phone_e164 = p_from AND pt.merged_into IS NULL
       AND a.status NOT IN ('cancelled', 'no_show', 'rescheduled')
     ORDER BY pt.id, a.starts_at < p_at, abs(extract(epoch FROM a.starts_at - p_at)))
  SELECT q.id, q.code, t.code, pr.display_name,
         CASE WHEN own.upcoming THEN 'next appointment' ELSE 'latest appointment' END,
         own.patient_id
    FROM own JOIN providers pr ON pr.id = own.provider_id
    JOIN phone_care_team_providers tp ON tp.provider_id = own.provider_id
    JOIN phone_care_teams t ON t.id = tp.team_id
    LEFT JOIN phone_queues q ON q.id = t.nurse_queue_id
   ORDER BY q.id IS NULL, NOT own.upcoming, abs(extract(epoch FROM own.starts_at - p_at))
   LIMIT 1
$$;

-- The rule kind: condition 'caller_care_team' holds when the caller's care
-- team has a nurse line; action 'care_team_queue' sends the call there.
ALTER TABLE phone_rules DROP CONSTRAINT phone_rules_condition_check;
ALTER TABLE phone_rules DROP CONSTRAINT phone_rules_action_check;
ALTER TABLE phone_rules DROP CONSTRAINT phone_rules_check4;
ALTER TABLE phone_rules ADD CONSTRAINT phone_rules_condition_check CHECK (condition IN
  ('always', 'open', 'closed', 'after_hours', 'lunch', 'holiday', 'override', 'caller_patient',
   'caller_patient_today', 'caller_listed', 'caller_care_team', 'menu'));
ALTER TABLE phone_rules ADD CONSTRAINT phone_rules_action_check CHECK (action IN
  ('queue', 'listed_queue', 'care_team_queue', 'on_call', 'answering_service', 'voicemail', 'message'));
ALTER TABLE phone_rules ADD CONSTRAINT phone_rules_listed_queue_condition
  CHECK (action <> 'listed_queue' OR condition = 'caller_listed');
ALTER TABLE phone_rules ADD CONSTRAINT phone_rules_care_team_condition
  CHECK (action <> 'care_team_queue' OR condition = 'caller_care_team');

-- --- overflow chains never loop ------------------------------------------------

-- Refused at save time: following overflow_queue_id from any queue must
-- end. Checked at commit so a chain may be rebuilt inside one transaction.
CREATE FUNCTION phone_queues_no_overflow_loop() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
  IF NEW.overflow_queue_id IS NOT NULL AND EXISTS (
       WITH RECURSIVE chain (id, depth) AS (
         SELECT NEW.overflow_queue_id, 1
         UNION ALL
         SELECT q.overflow_queue_id, chain.depth + 1 FROM chain JOIN phone_queues q ON q.id = chain.id
          WHERE q.overflow_queue_id IS NOT NULL AND chain.depth < 1000)
       SELECT 1 FROM chain WHERE id = NEW.id) THEN
    RAISE EXCEPTION 'queue overflow would loop back to %', NEW.code USING ERRCODE = 'P0001';
  END IF;
  RETURN NULL;
END
$$;
CREATE CONSTRAINT TRIGGER phone_queues_overflow_loop AFTER INSERT OR UPDATE OF overflow_queue_id
  ON phone_queues DEFERRABLE INITIALLY DEFERRED FOR EACH ROW
  EXECUTE FUNCTION phone_queues_no_overflow_loop();

-- --- callbacks offered in the caller's place --------------------------------------

-- A callback (a queue message with a due time) is offered to one member:
-- it sits with them, they are not rung for calls meanwhile, until they mark
-- it done or stop being available (then it goes back in line, keeping its
-- place).
ALTER TABLE phone_messages ADD COLUMN offered_to bigint REFERENCES staff (id);
ALTER TABLE phone_messages ADD COLUMN offered_at timestamptz;
ALTER TABLE phone_messages ADD CONSTRAINT phone_messages_offer_pair
  CHECK ((offered_to IS NULL) = (offered_at IS NULL));
CREATE INDEX phone_messages_offered_idx ON phone_messages (offered_to)
  WHERE offered_to IS NOT NULL AND done_at IS NULL;
CREATE INDEX phone_messages_due_idx ON phone_messages (for_queue_id, place_at)
  WHERE done_at IS NULL AND offered_to IS NULL AND callback_due_at IS NOT NULL;

-- Who may take a callback of a queue now, best first: available members
-- not being rung and holding no other callback, the lowest penalty tier
-- first, then whoever finished their last call longest ago.
CREATE FUNCTION phone_callback_candidates(p_queue bigint)
RETURNS TABLE (staff_id bigint, desk_id bigint)
LANGUAGE sql STABLE AS $$
  SELECT m.staff_id, p.desk_id FROM phone_queue_members m
    JOIN phone_presence p ON p.staff_id = m.staff_id AND p.state = 'available'
    JOIN staff s ON s.id = m.staff_id AND s.active
   WHERE m.queue_id = p_queue
     AND NOT EXISTS (SELECT 1 FROM phone_rings r WHERE r.staff_id = m.staff_id AND r.stopped_at IS NULL)
     AND NOT EXISTS (SELECT 1 FROM phone_messages o WHERE o.offered_to = m.staff_id AND o.done_at IS NULL)
   ORDER BY m.penalty, p.last_call_ended_at ASC NULLS FIRST, m.position, m.staff_id
$$;

-- Offers the queue's due callbacks whose place is before p_before, in
-- place order, one per free member; returns how many were offered. Each
-- offer is an event to the member's desk: phone.callback
-- "message:ID desk:ID staff:ID".
CREATE FUNCTION phone_offer_callbacks(p_queue bigint, p_before timestamptz) RETURNS integer
LANGUAGE plpgsql AS $$
DECLARE
  m record;
  cand record;
  offered integer := 0;
BEGIN
  FOR m IN SELECT id FROM phone_messages
            WHERE for_queue_id = p_queue AND done_at IS NULL AND offered_to IS NULL
              AND callback_due_at <= now() AND place_at < p_before
            ORDER BY place_at, id FOR UPDATE SKIP LOCKED
  LOOP
    SELECT * INTO cand FROM phone_callback_candidates(p_queue) LIMIT 1;
    EXIT WHEN NOT FOUND;
    UPDATE phone_messages SET offered_to = cand.staff_id, offered_at = now() WHERE id = m.id;
    PERFORM phone_event('phone.callback', format('message:%s desk:%s staff:%s', m.id, cand.desk_id, cand.staff_id));
    offered := offered + 1;
  END LOOP;
  RETURN offered;
END
$$;

-- 0004's candidates, now also skipping members who hold a callback.
CREATE OR REPLACE FUNCTION phone_candidates(p_call bigint)
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
       AND NOT EXISTS (SELECT 1 FROM phone_messages o WHERE o.offered_to = m.staff_id AND o.done_at IS NULL)
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

-- 0004's ring, now first offering the queue's due callbacks that hold an
-- earlier place than this call: they go to free members before the call
-- rings anyone.
CREATE OR REPLACE FUNCTION phone_ring(p_call bigint) RETURNS integer
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
  PERFORM phone_offer_callbacks(q.id, c.received_at);
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
    IF q.strategy = 'ring_all' OR pass = 2 OR NOT EXISTS (
         SELECT 1 FROM phone_rings WHERE call_id = c.id AND cycle = c.ring_cycle) THEN
      RETURN started;
    END IF;
    UPDATE phone_calls SET ring_cycle = ring_cycle + 1 WHERE id = c.id RETURNING * INTO c;
  END LOOP;
  RETURN started;
END
$$;

-- 0004's overflow with a run-time guard: should a chain loop anyway (rows
-- written around the save-time check), a call that already overflowed out
-- of the target queue is not sent round again; it leaves a callback in the
-- queue it is in.
CREATE OR REPLACE FUNCTION phone_overflow(p_call bigint) RETURNS void
LANGUAGE plpgsql AS $$
DECLARE
  c phone_calls;
  q phone_queues;
  how text;
BEGIN
  SELECT * INTO c FROM phone_calls WHERE id = p_call;
  SELECT * INTO q FROM phone_queues WHERE id = c.queue_id;
  how := q.overflow;
  IF how = 'queue' AND EXISTS (
       SELECT 1 FROM phone_visits WHERE call_id = c.id AND queue_id IN (q.overflow_queue_id, q.id)
          AND outcome = 'overflowed') THEN
    how := 'message';
  END IF;
  PERFORM phone_stop_rings(c.id, 'stopped', NULL);
  UPDATE phone_visits SET left_at = now(),
         outcome = CASE how WHEN 'message' THEN 'message_taken' ELSE 'overflowed' END
   WHERE call_id = c.id AND left_at IS NULL;
  IF how = 'queue' THEN
    UPDATE phone_calls SET queue_id = q.overflow_queue_id, waiting_since = now(), ring_cycle = 0,
           route_reason = 'overflow from ' || q.code || ' after ' || q.max_wait_s || ' s'
     WHERE id = c.id;
    INSERT INTO phone_visits (call_id, queue_id, entered_at) VALUES (c.id, q.overflow_queue_id, now());
    PERFORM phone_ring(c.id);
  ELSIF how = 'voicemail' THEN
    UPDATE phone_calls SET state = 'ended', waiting_since = NULL, ended_at = now(),
           disposition = 'voicemail', voicemail_box = q.code
     WHERE id = c.id;
  ELSE
    INSERT INTO phone_messages (call_id, for_queue_id, callback_e164, reason, urgency, place_at, callback_due_at)
    VALUES (c.id, q.id, c.caller_e164,
            'caller waited ' || q.max_wait_s || ' s in ' || q.code || '; call back'
              || CASE WHEN q.overflow = 'queue' THEN ' (overflow chain loops)' ELSE '' END,
            'routine', c.received_at, now());
    UPDATE phone_calls SET state = 'ended', waiting_since = NULL, ended_at = now(),
           disposition = 'message_taken'
     WHERE id = c.id;
    PERFORM phone_event('phone.message', 'queue:' || q.id);
  END IF;
  PERFORM phone_event('phone.call', 'call:' || c.id);
END
$$;

-- 0004's tick, plus the callbacks: offers held by someone no longer
-- available (or for a message moved to a person) go back in line, and due
-- callbacks are offered to members still free after the waiting calls
-- (which, ringing, already took the callbacks ahead of them).
CREATE OR REPLACE FUNCTION phone_tick() RETURNS void
LANGUAGE plpgsql AS $$
DECLARE
  s record;
  c record;
  m record;
BEGIN
  FOR s IN UPDATE phone_presence SET state = 'available', wrap_up_until = NULL, since = now()
            WHERE state = 'wrap_up' AND wrap_up_until <= now() RETURNING staff_id
  LOOP
    PERFORM phone_event('phone.presence', 'staff:' || s.staff_id);
  END LOOP;
  FOR m IN UPDATE phone_messages o SET offered_to = NULL, offered_at = NULL
            WHERE o.offered_to IS NOT NULL AND o.done_at IS NULL
              AND (o.for_queue_id IS NULL OR NOT EXISTS (
                     SELECT 1 FROM phone_presence p WHERE p.staff_id = o.offered_to
                        AND p.state = 'available'))
           RETURNING o.id
  LOOP
    PERFORM phone_event('phone.message', 'message:' || m.id);
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
  FOR m IN SELECT DISTINCT for_queue_id FROM phone_messages
            WHERE done_at IS NULL AND offered_to IS NULL AND callback_due_at <= now()
              AND for_queue_id IS NOT NULL
  LOOP
    PERFORM phone_offer_callbacks(m.for_queue_id, 'infinity');
  END LOOP;
END
$$;
