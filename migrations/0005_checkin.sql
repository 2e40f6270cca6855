-- Check-in: visits and the patient flow through the clinic, the waiting
-- room's alert times per location, payments with receipts, and the
-- patients' balances.
--
-- What must never break is enforced here as well as in C: a visit only
-- moves along the allowed flow (a trigger, which also stamps who, when and
-- from which desk into visit_steps), one open visit per appointment and per
-- patient (unique partial indexes: of two desks checking in at once exactly
-- one row lands), a room holds one patient at a time, money is positive
-- integer cents, a check has its number, a void has its reason, and a
-- refund never exceeds what was paid.

-- Per-location timings. A location without a row uses the defaults
-- (checkin_settings_for() below) for the board, and is not swept for
-- no-shows: the sweep runs only where a clinic has saved its settings with
-- no_show_sweep on. Minutes throughout.
CREATE TABLE checkin_settings (
  location_id           bigint PRIMARY KEY REFERENCES locations (id),
  late_after_min        integer NOT NULL DEFAULT 10 CHECK (late_after_min BETWEEN 0 AND 240),
  no_show_after_min     integer NOT NULL DEFAULT 60 CHECK (no_show_after_min BETWEEN 5 AND 1440),
  -- The no-show sweep marks a local day's appointments once this local
  -- time has passed (earlier days at any time): "at end of day".
  no_show_sweep_at      time NOT NULL DEFAULT '19:00',
  no_show_sweep         boolean NOT NULL DEFAULT true,
  alert_arrived_min     integer NOT NULL DEFAULT 5 CHECK (alert_arrived_min BETWEEN 1 AND 1440),
  alert_checked_in_min  integer NOT NULL DEFAULT 20 CHECK (alert_checked_in_min BETWEEN 1 AND 1440),
  alert_in_room_min     integer NOT NULL DEFAULT 15 CHECK (alert_in_room_min BETWEEN 1 AND 1440),
  alert_with_provider_min integer NOT NULL DEFAULT 45 CHECK (alert_with_provider_min BETWEEN 1 AND 1440)
);

CREATE FUNCTION checkin_settings_for(loc bigint) RETURNS checkin_settings
LANGUAGE sql STABLE AS $$
  SELECT coalesce((SELECT s FROM checkin_settings s WHERE s.location_id = loc),
                  ROW(loc, 10, 60, '19:00'::time, false, 5, 20, 15, 45)::checkin_settings)
$$;

CREATE FUNCTION visit_status_open(status text) RETURNS boolean
LANGUAGE sql IMMUTABLE AS $$
  SELECT status IN ('arrived', 'checked_in', 'in_room', 'with_provider')
$$;

-- The flow. Final: checked_out, left_without_being_seen, undone.
CREATE FUNCTION visit_status_next(status text) RETURNS text[]
LANGUAGE sql IMMUTABLE AS $$
  SELECT CASE status
    WHEN 'arrived' THEN ARRAY['checked_in', 'left_without_being_seen', 'undone']
    WHEN 'checked_in' THEN ARRAY['in_room', 'left_without_being_seen', 'undone']
    WHEN 'in_room' THEN ARRAY['with_provider', 'checked_out', 'undone']
    WHEN 'with_provider' THEN ARRAY['in_room', 'checked_out', 'undone']
    ELSE '{}'::text[]
  END
$$;

-- A visit: the patient's presence in the clinic, with or without an
-- appointment (a walk-in has none). arrival_offset_min is the arrival
-- against the appointment's start (positive: late).
CREATE TABLE visits (
  id                   bigserial PRIMARY KEY,
  patient_id           bigint NOT NULL REFERENCES patients (id),
  appointment_id       bigint REFERENCES appointments (id),
  location_id          bigint NOT NULL REFERENCES locations (id),
  provider_id          bigint REFERENCES providers (id),
  type_id              bigint REFERENCES appointment_types (id),
  room_id              bigint REFERENCES resources (id),
  status               text NOT NULL
                         CHECK (status IN ('arrived', 'checked_in', 'in_room', 'with_provider',
                                           'checked_out', 'left_without_being_seen', 'undone')),
  status_since         timestamptz NOT NULL DEFAULT now(),
  arrived_at           timestamptz NOT NULL DEFAULT now(),
  arrival_offset_min   integer,
  walk_in              boolean NOT NULL,
  readiness_gaps       text[] NOT NULL DEFAULT '{}' CHECK (cardinality(readiness_gaps) <= 32),
  override_reason      text CHECK (length(override_reason) BETWEEN 1 AND 500),
  expected_copay_cents integer NOT NULL DEFAULT 0 CHECK (expected_copay_cents BETWEEN 0 AND 10000000),
  checked_in_by        bigint REFERENCES staff (id),
  checked_in_desk      bigint REFERENCES desks (id),
  closed_at            timestamptz,
  CONSTRAINT visits_walk_in_check CHECK (walk_in = (appointment_id IS NULL)),
  CONSTRAINT visits_arrival_offset_check CHECK ((arrival_offset_min IS NULL) = walk_in),
  CONSTRAINT visits_room_check CHECK (status NOT IN ('in_room', 'with_provider') OR room_id IS NOT NULL),
  CONSTRAINT visits_provider_check CHECK (status <> 'with_provider' OR provider_id IS NOT NULL),
  CONSTRAINT visits_closed_check CHECK ((closed_at IS NULL) = visit_status_open(status)),
  -- Gaps recorded at check-in need an override reason.
  CONSTRAINT visits_override_check CHECK (cardinality(readiness_gaps) = 0 OR override_reason IS NOT NULL)
);
CREATE UNIQUE INDEX visits_one_open_per_appointment
  ON visits (appointment_id) WHERE visit_status_open(status);
CREATE UNIQUE INDEX visits_one_open_per_patient
  ON visits (patient_id) WHERE visit_status_open(status);
CREATE UNIQUE INDEX visits_one_patient_per_room
  ON visits (room_id) WHERE status IN ('in_room', 'with_provider');
CREATE INDEX visits_board_idx ON visits (location_id) WHERE visit_status_open(status);
CREATE INDEX visits_patient_idx ON visits (patient_id, arrived_at);

-- Every status step of a visit: when, who, from which desk, why, and the
-- room and provider after the step. Written by the trigger only.
CREATE TABLE visit_steps (
  id          bigserial PRIMARY KEY,
  visit_id    bigint NOT NULL REFERENCES visits (id),
  at          timestamptz NOT NULL DEFAULT now(),
  staff_id    bigint REFERENCES staff (id),
  desk_id     bigint REFERENCES desks (id),
  from_status text,
  to_status   text NOT NULL,
  room_id     bigint REFERENCES resources (id),
  provider_id bigint REFERENCES providers (id),
  reason      text NOT NULL DEFAULT ''
);
CREATE INDEX visit_steps_visit_idx ON visit_steps (visit_id, id);

-- Refuses moves outside the flow (naming the allowed ones), stamps the
-- status time and the closing time, and writes the step row. Who, desk
-- and why come from transaction-local settings frontdesk.staff_id,
-- frontdesk.desk_id and frontdesk.reason.
CREATE FUNCTION visits_track() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
  who bigint := nullif(current_setting('frontdesk.staff_id', true), '')::bigint;
  desk bigint := nullif(current_setting('frontdesk.desk_id', true), '')::bigint;
  why text := coalesce(current_setting('frontdesk.reason', true), '');
BEGIN
  IF TG_OP = 'INSERT' THEN
    IF NEW.status NOT IN ('arrived', 'checked_in') THEN
      RAISE EXCEPTION 'a visit starts arrived or checked_in'
        USING ERRCODE = 'check_violation', CONSTRAINT = 'visits_status_move';
    END IF;
    INSERT INTO visit_steps (visit_id, staff_id, desk_id, to_status, room_id, provider_id, reason)
    VALUES (NEW.id, who, desk, NEW.status, NEW.room_id, NEW.provider_id, why);
    RETURN NEW;
  END IF;
  IF NEW.status IS DISTINCT FROM OLD.status THEN
    IF NOT NEW.status = ANY (visit_status_next(OLD.status)) THEN
      RAISE EXCEPTION 'a visit cannot move from % to %; allowed: %', OLD.status, NEW.status,
        coalesce(nullif(array_to_string(visit_status_next(OLD.status), ', '), ''), 'none (closed)')
        USING ERRCODE = 'check_violation', CONSTRAINT = 'visits_status_move';
    END IF;
    NEW.status_since := now();
    IF NOT visit_status_open(NEW.status) THEN
      NEW.closed_at := now();
    END IF;
  ELSIF NOT visit_status_open(OLD.status)
        AND (NEW.room_id, NEW.provider_id, NEW.appointment_id, NEW.expected_copay_cents,
             NEW.status_since, NEW.location_id)
            IS DISTINCT FROM (OLD.room_id, OLD.provider_id, OLD.appointment_id,
                              OLD.expected_copay_cents, OLD.status_since, OLD.location_id) THEN
    -- A closed visit keeps its record; only a patient merge moves it.
    RAISE EXCEPTION 'a closed visit does not change'
      USING ERRCODE = 'check_violation', CONSTRAINT = 'visits_status_move';
  END IF;
  IF NEW.status IS DISTINCT FROM OLD.status OR NEW.room_id IS DISTINCT FROM OLD.room_id
     OR NEW.provider_id IS DISTINCT FROM OLD.provider_id THEN
    INSERT INTO visit_steps (visit_id, staff_id, desk_id, from_status, to_status, room_id,
                             provider_id, reason)
    VALUES (NEW.id, who, desk, OLD.status, NEW.status, NEW.room_id, NEW.provider_id, why);
  END IF;
  RETURN NEW;
END
$$;
CREATE TRIGGER visits_track_insert AFTER INSERT ON visits
  FOR EACH ROW EXECUTE FUNCTION visits_track();
CREATE TRIGGER visits_track_update BEFORE UPDATE ON visits
  FOR EACH ROW EXECUTE FUNCTION visits_track();

-- ---------------------------------------------------------------- payments

CREATE SEQUENCE receipt_numbers;

-- Money taken at the desk (kind 'payment') or given back (kind 'refund',
-- linked to the payment it returns). A voided row stays, marked, with who
-- voided it and why; it no longer counts anywhere.
CREATE TABLE payments (
  id             bigserial PRIMARY KEY,
  visit_id       bigint NOT NULL REFERENCES visits (id),
  patient_id     bigint NOT NULL REFERENCES patients (id),
  kind           text NOT NULL DEFAULT 'payment' CHECK (kind IN ('payment', 'refund')),
  refund_of      bigint REFERENCES payments (id),
  amount_cents   bigint NOT NULL CHECK (amount_cents BETWEEN 1 AND 10000000),
  method         text NOT NULL CHECK (method IN ('cash', 'card', 'check')),
  check_number   text CHECK (check_number ~ '^[0-9A-Za-z-]{1,20}$'),
  note           text NOT NULL DEFAULT '' CHECK (length(note) <= 200),
  receipt_number text NOT NULL UNIQUE
                   DEFAULT 'R' || lpad(nextval('receipt_numbers')::text, 8, '0'),
  received_at    timestamptz NOT NULL DEFAULT now(),
  received_by    bigint NOT NULL REFERENCES staff (id),
  desk_id        bigint REFERENCES desks (id),
  reason         text CHECK (length(reason) BETWEEN 1 AND 500),
  voided_at      timestamptz,
  voided_by      bigint REFERENCES staff (id),
  void_reason    text CHECK (length(void_reason) BETWEEN 1 AND 500),
  CONSTRAINT payments_check_needs_number CHECK ((method = 'check') = (check_number IS NOT NULL)),
  CONSTRAINT payments_refund_check CHECK ((kind = 'refund') = (refund_of IS NOT NULL)
                                         AND (kind = 'refund') = (reason IS NOT NULL)),
  CONSTRAINT payments_void_check CHECK ((voided_at IS NULL) = (void_reason IS NULL)
                                       AND (voided_at IS NULL) = (voided_by IS NULL))
);
CREATE INDEX payments_visit_idx ON payments (visit_id);
CREATE INDEX payments_patient_idx ON payments (patient_id);
CREATE INDEX payments_day_idx ON payments (received_at);
CREATE INDEX payments_refund_of_idx ON payments (refund_of) WHERE refund_of IS NOT NULL;

-- Money rows are never deleted and only change by being voided, once (or
-- by a patient merge moving them to the surviving record); refunds of one
-- payment never add up to more than it.
CREATE FUNCTION payments_guard() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
  paid bigint;
  returned bigint;
BEGIN
  IF TG_OP = 'DELETE' THEN
    RAISE EXCEPTION 'payments are voided, never deleted'
      USING ERRCODE = 'check_violation', CONSTRAINT = 'payments_append_only';
  END IF;
  IF TG_OP = 'UPDATE' THEN
    IF (OLD.voided_at IS NOT NULL
        AND (NEW.voided_at, NEW.voided_by, NEW.void_reason)
            IS DISTINCT FROM (OLD.voided_at, OLD.voided_by, OLD.void_reason))
       OR (OLD.voided_at IS NULL AND NEW.voided_at IS NULL AND NEW.patient_id = OLD.patient_id)
       OR (NEW.amount_cents, NEW.method, NEW.kind, NEW.visit_id, NEW.receipt_number,
           NEW.refund_of, NEW.check_number, NEW.received_at, NEW.received_by, NEW.desk_id)
          IS DISTINCT FROM (OLD.amount_cents, OLD.method, OLD.kind, OLD.visit_id, OLD.receipt_number,
                            OLD.refund_of, OLD.check_number, OLD.received_at, OLD.received_by,
                            OLD.desk_id) THEN
      RAISE EXCEPTION 'a payment only changes by being voided, once'
        USING ERRCODE = 'check_violation', CONSTRAINT = 'payments_append_only';
    END IF;
    RETURN NEW;
  END IF;
  IF NEW.kind = 'refund' THEN
    SELECT amount_cents INTO paid FROM payments
     WHERE id = NEW.refund_of AND kind = 'payment' AND voided_at IS NULL FOR UPDATE;
    IF paid IS NULL THEN
      RAISE EXCEPTION 'only a payment that is not voided can be refunded'
        USING ERRCODE = 'check_violation', CONSTRAINT = 'payments_refund_limit';
    END IF;
    SELECT coalesce(sum(amount_cents), 0) INTO returned FROM payments
     WHERE refund_of = NEW.refund_of AND voided_at IS NULL;
    IF returned + NEW.amount_cents > paid THEN
      RAISE EXCEPTION 'refunds would exceed the payment'
        USING ERRCODE = 'check_violation', CONSTRAINT = 'payments_refund_limit';
    END IF;
  END IF;
  RETURN NEW;
END
$$;
CREATE TRIGGER payments_guard_insert BEFORE INSERT ON payments
  FOR EACH ROW EXECUTE FUNCTION payments_guard();
CREATE TRIGGER payments_guard_change BEFORE UPDATE OR DELETE ON payments
  FOR EACH ROW EXECUTE FUNCTION payments_guard();

-- What each patient owes: the expected copay of every visit that was not
-- undone, minus payments, plus refunds (voided rows do not count). The
-- patients domain's readiness reads this relation by name
-- (patient_balance_due()).
CREATE VIEW patient_balances AS
  SELECT patient_id, sum(due)::bigint AS balance_cents
    FROM (SELECT v.patient_id, v.expected_copay_cents::bigint AS due
            FROM visits v WHERE v.status <> 'undone'
          UNION ALL
          SELECT p.patient_id, CASE p.kind WHEN 'payment' THEN -p.amount_cents ELSE p.amount_cents END
            FROM payments p WHERE p.voided_at IS NULL) t
   GROUP BY patient_id;

-- The copay the patient's primary policy expects for a visit type today
-- (0 when there is no current primary policy or no copay for the type).
CREATE FUNCTION expected_copay_cents(pid bigint, type_code text) RETURNS integer
LANGUAGE sql STABLE AS $$
  SELECT coalesce((
    SELECT c.copay_cents
      FROM insurance_policies ip
      JOIN insurance_copays c ON c.policy_id = ip.id AND c.visit_type = type_code
     WHERE ip.patient_id = pid AND ip.active AND ip.priority = 'primary'
       AND ip.effective_from <= current_date
       AND (ip.effective_until IS NULL OR ip.effective_until >= current_date)), 0)
$$;
