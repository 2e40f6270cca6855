-- Scheduling: providers, rooms and equipment, appointment types, weekly
-- availability with exceptions and holidays, appointments with their history,
-- the reminder outbox, and the waitlist with its slot-holding offers.
--
-- What must never break is enforced here, not only in C: no provider and no
-- resource is booked twice for overlapping time (exclusion constraints over
-- the appointment's time including its buffers), statuses only move along
-- the allowed paths (a trigger), cancelled or moved appointments release
-- their rooms and withdraw their reminders (the same trigger), and every
-- change of an appointment leaves a history row (who, when, why).

CREATE TABLE providers (
  id           bigserial PRIMARY KEY,
  code         text NOT NULL UNIQUE CHECK (code ~ '^[a-z0-9][a-z0-9._-]{0,31}$'),
  staff_id     bigint UNIQUE REFERENCES staff (id),
  display_name text NOT NULL CHECK (length(display_name) BETWEEN 1 AND 200),
  specialties  text[] NOT NULL DEFAULT '{}'
                 CHECK (cardinality(specialties) <= 10 AND
                        array_to_string(specialties, ',') ~ '^[a-z0-9_,-]*$'),
  active       boolean NOT NULL DEFAULT true,
  created_at   timestamptz NOT NULL DEFAULT now()
);

-- The sites where a provider sees patients.
CREATE TABLE provider_locations (
  provider_id bigint NOT NULL REFERENCES providers (id),
  location_id bigint NOT NULL REFERENCES locations (id),
  PRIMARY KEY (provider_id, location_id)
);

-- Rooms and equipment: anything an appointment may need exclusively.
CREATE TABLE resources (
  id          bigserial PRIMARY KEY,
  location_id bigint NOT NULL REFERENCES locations (id),
  code        text NOT NULL UNIQUE CHECK (code ~ '^[a-z0-9][a-z0-9._-]{0,31}$'),
  name        text NOT NULL CHECK (length(name) BETWEEN 1 AND 200),
  kind        text NOT NULL CHECK (kind ~ '^[a-z][a-z0-9_]{0,31}$'),
  active      boolean NOT NULL DEFAULT true,
  created_at  timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX resources_kind_idx ON resources (location_id, kind) WHERE active;

-- What can be booked. Durations are whole minutes; an appointment blocks its
-- provider and rooms from (start - buffer_before) to (end + buffer_after).
CREATE TABLE appointment_types (
  id                bigserial PRIMARY KEY,
  code              text NOT NULL UNIQUE CHECK (code ~ '^[a-z0-9][a-z0-9._-]{0,31}$'),
  name              text NOT NULL CHECK (length(name) BETWEEN 1 AND 200),
  duration_min      integer NOT NULL CHECK (duration_min BETWEEN 5 AND 720),
  buffer_before_min integer NOT NULL DEFAULT 0 CHECK (buffer_before_min BETWEEN 0 AND 240),
  buffer_after_min  integer NOT NULL DEFAULT 0 CHECK (buffer_after_min BETWEEN 0 AND 240),
  resource_kinds    text[] NOT NULL DEFAULT '{}'
                      CHECK (cardinality(resource_kinds) <= 5 AND
                             array_to_string(resource_kinds, ',') ~ '^[a-z0-9_,]*$'),
  min_notice_min    integer NOT NULL DEFAULT 0 CHECK (min_notice_min BETWEEN 0 AND 43200),
  horizon_days      integer NOT NULL DEFAULT 90 CHECK (horizon_days BETWEEN 1 AND 730),
  per_day_limit     integer CHECK (per_day_limit BETWEEN 1 AND 100),
  grid_min          integer NOT NULL DEFAULT 15 CHECK (grid_min BETWEEN 5 AND 240),
  color             text NOT NULL DEFAULT '#4a90d9' CHECK (color ~ '^#[0-9a-f]{6}$'),
  reminder_minutes  integer[] NOT NULL DEFAULT '{2880,120}'
                      CHECK (cardinality(reminder_minutes) <= 5 AND
                             0 < ALL (reminder_minutes) AND 20160 >= ALL (reminder_minutes)),
  active            boolean NOT NULL DEFAULT true,
  created_at        timestamptz NOT NULL DEFAULT now()
);

-- Which providers offer which types.
CREATE TABLE provider_types (
  provider_id bigint NOT NULL REFERENCES providers (id),
  type_id     bigint NOT NULL REFERENCES appointment_types (id),
  PRIMARY KEY (provider_id, type_id)
);
CREATE INDEX provider_types_type_idx ON provider_types (type_id);

-- Weekly hours: local wall-clock times in the location's zone, ISO weekday
-- (1 Monday .. 7 Sunday), valid from effective_from to effective_to
-- (inclusive; NULL: open-ended).
CREATE TABLE availability_templates (
  id             bigserial PRIMARY KEY,
  provider_id    bigint NOT NULL REFERENCES providers (id),
  location_id    bigint NOT NULL REFERENCES locations (id),
  weekday        smallint NOT NULL CHECK (weekday BETWEEN 1 AND 7),
  start_time     time NOT NULL,
  end_time       time NOT NULL,
  effective_from date NOT NULL,
  effective_to   date,
  created_at     timestamptz NOT NULL DEFAULT now(),
  CHECK (end_time > start_time),
  CHECK (effective_to IS NULL OR effective_to >= effective_from),
  FOREIGN KEY (provider_id, location_id) REFERENCES provider_locations
);
CREATE INDEX availability_templates_provider_idx
  ON availability_templates (provider_id, location_id, weekday);

-- Exceptions to the template: 'off' (vacation, sick day; any location when
-- location_id is NULL) or 'extra' hours at one location.
CREATE TABLE availability_exceptions (
  id          bigserial PRIMARY KEY,
  provider_id bigint NOT NULL REFERENCES providers (id),
  location_id bigint REFERENCES locations (id),
  kind        text NOT NULL CHECK (kind IN ('off', 'extra')),
  starts_at   timestamptz NOT NULL,
  ends_at     timestamptz NOT NULL,
  reason      text NOT NULL DEFAULT '' CHECK (length(reason) <= 200),
  created_at  timestamptz NOT NULL DEFAULT now(),
  CHECK (ends_at > starts_at AND ends_at - starts_at <= interval '366 days'),
  CHECK (kind = 'off' OR location_id IS NOT NULL)
);
CREATE INDEX availability_exceptions_provider_idx
  ON availability_exceptions USING gist (provider_id, tstzrange(starts_at, ends_at));

-- Whole days a location (or, with location_id NULL, every location) is
-- closed, as local dates.
CREATE TABLE holidays (
  id          bigserial PRIMARY KEY,
  location_id bigint REFERENCES locations (id),
  day         date NOT NULL,
  name        text NOT NULL CHECK (length(name) BETWEEN 1 AND 200),
  created_at  timestamptz NOT NULL DEFAULT now()
);
CREATE UNIQUE INDEX holidays_day_key ON holidays (coalesce(location_id, 0), day);

-- Appointments. blocked_from/blocked_until are the start and end widened by
-- the type's buffers at booking time; the exclusion constraints compare
-- those, so buffers can never be squeezed by a racing booking. An
-- overbooked appointment (explicit flag, permitted role, reason) is left
-- out of the provider constraint on purpose; rooms stay exclusive.
CREATE FUNCTION appointment_status_active(status text) RETURNS boolean
LANGUAGE sql IMMUTABLE AS $$
  SELECT status IN ('booked', 'confirmed', 'arrived', 'checked_in', 'in_room', 'completed')
$$;

CREATE TABLE appointments (
  id               bigserial PRIMARY KEY,
  patient_id       bigint NOT NULL REFERENCES patients (id),
  provider_id      bigint NOT NULL REFERENCES providers (id),
  location_id      bigint NOT NULL REFERENCES locations (id),
  type_id          bigint NOT NULL REFERENCES appointment_types (id),
  starts_at        timestamptz NOT NULL,
  ends_at          timestamptz NOT NULL,
  blocked_from     timestamptz NOT NULL,
  blocked_until    timestamptz NOT NULL,
  status           text NOT NULL DEFAULT 'booked'
                     CHECK (status IN ('booked', 'confirmed', 'arrived', 'checked_in',
                                       'in_room', 'completed', 'cancelled', 'no_show',
                                       'rescheduled')),
  reason           text NOT NULL DEFAULT '' CHECK (length(reason) <= 500),
  notes            text NOT NULL DEFAULT '' CHECK (length(notes) <= 2000),
  overbooked       boolean NOT NULL DEFAULT false,
  overbook_reason  text CHECK (length(overbook_reason) BETWEEN 1 AND 500),
  cancel_reason    text CHECK (cancel_reason IN ('patient', 'provider', 'clinic', 'weather', 'other')),
  rescheduled_from bigint UNIQUE REFERENCES appointments (id),
  booked_by        bigint REFERENCES staff (id),
  booked_at        timestamptz NOT NULL DEFAULT now(),
  updated_at       timestamptz NOT NULL DEFAULT now(),
  CHECK (ends_at > starts_at AND ends_at - starts_at <= interval '12 hours'),
  CHECK (blocked_from <= starts_at AND blocked_until >= ends_at),
  CHECK (overbooked = (overbook_reason IS NOT NULL)),
  CHECK ((status = 'cancelled') = (cancel_reason IS NOT NULL)),
  CONSTRAINT appointments_provider_no_overlap EXCLUDE USING gist (
    provider_id WITH =, tstzrange(blocked_from, blocked_until) WITH &&)
    WHERE (appointment_status_active(status) AND NOT overbooked)
);
CREATE INDEX appointments_patient_idx ON appointments (patient_id, starts_at);
CREATE INDEX appointments_location_idx ON appointments (location_id, starts_at);
CREATE INDEX appointments_provider_day_idx ON appointments (provider_id, starts_at);

-- The rooms and equipment an appointment holds. `active` follows the
-- appointment (trigger below) so a cancelled visit frees its room.
CREATE TABLE appointment_resources (
  appointment_id bigint NOT NULL REFERENCES appointments (id),
  resource_id    bigint NOT NULL REFERENCES resources (id),
  blocked_from   timestamptz NOT NULL,
  blocked_until  timestamptz NOT NULL,
  active         boolean NOT NULL DEFAULT true,
  PRIMARY KEY (appointment_id, resource_id),
  CHECK (blocked_until > blocked_from),
  CONSTRAINT appointment_resources_no_overlap EXCLUDE USING gist (
    resource_id WITH =, tstzrange(blocked_from, blocked_until) WITH &&) WHERE (active)
);

-- Every change of an appointment: written by the trigger below, so no code
-- path (ours or a later domain's) can change an appointment silently. The
-- acting staff member and the reason come from transaction-local settings
-- frontdesk.staff_id and frontdesk.reason set by the handler.
CREATE TABLE appointment_history (
  id             bigserial PRIMARY KEY,
  appointment_id bigint NOT NULL REFERENCES appointments (id),
  at             timestamptz NOT NULL DEFAULT now(),
  staff_id       bigint REFERENCES staff (id),
  action         text NOT NULL,
  from_status    text,
  to_status      text NOT NULL,
  starts_at      timestamptz NOT NULL,
  reason         text NOT NULL DEFAULT ''
);
CREATE INDEX appointment_history_appt_idx ON appointment_history (appointment_id, id);

-- Reminder outbox: pending until send_at, then due (the server's timer),
-- then sent or failed by the sender; withdrawn when the appointment is
-- cancelled or moved before that.
CREATE TABLE appointment_reminders (
  id             bigserial PRIMARY KEY,
  appointment_id bigint NOT NULL REFERENCES appointments (id),
  send_at        timestamptz NOT NULL,
  status         text NOT NULL DEFAULT 'pending'
                   CHECK (status IN ('pending', 'due', 'sent', 'failed', 'withdrawn')),
  attempts       integer NOT NULL DEFAULT 0 CHECK (attempts >= 0),
  created_at     timestamptz NOT NULL DEFAULT now(),
  updated_at     timestamptz NOT NULL DEFAULT now(),
  UNIQUE (appointment_id, send_at)
);
CREATE INDEX appointment_reminders_todo_idx ON appointment_reminders (send_at)
  WHERE status IN ('pending', 'due');

-- Allowed status moves: forward along the visit (booked → confirmed →
-- arrived → checked_in → in_room → completed, steps may be skipped), or out
-- of it: cancelled (before the patient is in a room), no_show and
-- rescheduled (before arrival). completed, cancelled, no_show and
-- rescheduled are final.
CREATE FUNCTION appointment_status_move_ok(old_status text, new_status text) RETURNS boolean
LANGUAGE sql IMMUTABLE AS $$
  SELECT CASE
    WHEN new_status IN ('confirmed', 'arrived', 'checked_in', 'in_room', 'completed') THEN
      array_position(ARRAY['booked','confirmed','arrived','checked_in','in_room','completed'], new_status)
      > coalesce(array_position(ARRAY['booked','confirmed','arrived','checked_in','in_room','completed'], old_status), 99)
    WHEN new_status = 'cancelled' THEN old_status IN ('booked', 'confirmed', 'arrived', 'checked_in')
    WHEN new_status IN ('no_show', 'rescheduled') THEN old_status IN ('booked', 'confirmed')
    ELSE false
  END
$$;

CREATE FUNCTION appointments_track() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
  who bigint := nullif(current_setting('frontdesk.staff_id', true), '')::bigint;
  why text := coalesce(current_setting('frontdesk.reason', true), '');
BEGIN
  IF TG_OP = 'INSERT' THEN
    INSERT INTO appointment_history (appointment_id, staff_id, action, to_status, starts_at, reason)
    VALUES (NEW.id, who, CASE WHEN NEW.rescheduled_from IS NULL THEN 'booked' ELSE 'booked_by_reschedule' END,
            NEW.status, NEW.starts_at, why);
    RETURN NEW;
  END IF;
  IF NEW.status <> OLD.status AND NOT appointment_status_move_ok(OLD.status, NEW.status) THEN
    RAISE EXCEPTION 'appointment cannot move from % to %', OLD.status, NEW.status
      USING ERRCODE = 'check_violation', CONSTRAINT = 'appointments_status_move';
  END IF;
  IF NEW.starts_at <> OLD.starts_at OR NEW.provider_id <> OLD.provider_id THEN
    RAISE EXCEPTION 'an appointment is moved by rescheduling, not by editing'
      USING ERRCODE = 'check_violation', CONSTRAINT = 'appointments_time_fixed';
  END IF;
  NEW.updated_at := now();
  IF NEW.status <> OLD.status THEN
    INSERT INTO appointment_history (appointment_id, staff_id, action, from_status, to_status, starts_at, reason)
    VALUES (NEW.id, who, 'status', OLD.status, NEW.status, NEW.starts_at, why);
    IF NOT appointment_status_active(NEW.status) THEN
      UPDATE appointment_resources SET active = false WHERE appointment_id = NEW.id AND active;
    END IF;
    IF NEW.status IN ('cancelled', 'no_show', 'rescheduled') THEN
      UPDATE appointment_reminders SET status = 'withdrawn', updated_at = now()
       WHERE appointment_id = NEW.id AND status IN ('pending', 'due');
    END IF;
  ELSIF NEW.overbooked <> OLD.overbooked OR NEW.notes <> OLD.notes OR NEW.reason <> OLD.reason THEN
    INSERT INTO appointment_history (appointment_id, staff_id, action, from_status, to_status, starts_at, reason)
    VALUES (NEW.id, who, 'edited', OLD.status, NEW.status, NEW.starts_at, why);
  END IF;
  RETURN NEW;
END
$$;
CREATE TRIGGER appointments_track_insert AFTER INSERT ON appointments
  FOR EACH ROW EXECUTE FUNCTION appointments_track();
CREATE TRIGGER appointments_track_update BEFORE UPDATE ON appointments
  FOR EACH ROW EXECUTE FUNCTION appointments_track();

-- The instant a local wall-clock time names in a zone, or NULL when that
-- time does not exist there (the hour skipped when clocks spring forward):
-- PostgreSQL would silently shift such a time, so it is round-tripped.
CREATE FUNCTION local_instant(local timestamp, zone text) RETURNS timestamptz
LANGUAGE sql STABLE AS $$
  SELECT CASE WHEN (local AT TIME ZONE zone) AT TIME ZONE zone = local
              THEN local AT TIME ZONE zone END
$$;

-- Local text of an instant in a zone: "2025-03-10 09:30".
CREATE FUNCTION local_text(at timestamptz, zone text) RETURNS text
LANGUAGE sql STABLE AS $$
  SELECT to_char(at AT TIME ZONE zone, 'YYYY-MM-DD HH24:MI')
$$;

-- The waitlist: a patient asking for an earlier slot of a type at a
-- location, optionally with one provider, on some weekdays (ISO 1-7; empty:
-- any), in the morning (before 12:00) or afternoon, between two local
-- dates. Served by priority (1 first) then request time. An entry is
-- 'waiting', 'offered' (an open offer holds a slot for it), 'booked' (it
-- accepted; booked_appointment_id), or 'removed'.
CREATE TABLE waitlist_entries (
  id                    bigserial PRIMARY KEY,
  patient_id            bigint NOT NULL REFERENCES patients (id),
  type_id               bigint NOT NULL REFERENCES appointment_types (id),
  location_id           bigint NOT NULL REFERENCES locations (id),
  provider_id           bigint REFERENCES providers (id),
  weekdays              integer[] NOT NULL DEFAULT '{}'
                          CHECK (cardinality(weekdays) <= 7 AND 1 <= ALL (weekdays) AND 7 >= ALL (weekdays)),
  time_of_day           text NOT NULL DEFAULT 'any' CHECK (time_of_day IN ('any', 'morning', 'afternoon')),
  from_date             date,
  to_date               date,
  priority              integer NOT NULL DEFAULT 3 CHECK (priority BETWEEN 1 AND 5),
  note                  text NOT NULL DEFAULT '' CHECK (length(note) <= 500),
  status                text NOT NULL DEFAULT 'waiting'
                          CHECK (status IN ('waiting', 'offered', 'booked', 'removed')),
  booked_appointment_id bigint REFERENCES appointments (id),
  requested_at          timestamptz NOT NULL DEFAULT now(),
  requested_by          bigint REFERENCES staff (id),
  updated_at            timestamptz NOT NULL DEFAULT now(),
  CHECK (to_date IS NULL OR from_date IS NULL OR to_date >= from_date),
  CHECK ((status = 'booked') = (booked_appointment_id IS NOT NULL))
);
-- One live request per patient and type.
CREATE UNIQUE INDEX waitlist_entries_live_key ON waitlist_entries (patient_id, type_id)
  WHERE status IN ('waiting', 'offered');
CREATE INDEX waitlist_entries_queue_idx ON waitlist_entries (type_id, location_id, priority, requested_at)
  WHERE status = 'waiting';

-- How long an offer holds its slot, per location (no row: 30 minutes).
CREATE TABLE waitlist_settings (
  location_id    bigint PRIMARY KEY REFERENCES locations (id),
  offer_hold_min integer NOT NULL CHECK (offer_hold_min BETWEEN 1 AND 1440)
);

-- A freed slot offered to one waitlist entry. While 'open' it holds the
-- provider's time (buffers included): open_slots() treats it as busy, so
-- the search does not show it and nobody else can book it; the exclusion
-- constraint keeps two open offers off the same time. Accepting books it
-- through the normal booking path ('accepted', appointment_id); declining
-- or the expiry timer ('declined', 'expired') passes it to the next entry.
CREATE TABLE waitlist_offers (
  id             bigserial PRIMARY KEY,
  entry_id       bigint NOT NULL REFERENCES waitlist_entries (id),
  provider_id    bigint NOT NULL REFERENCES providers (id),
  location_id    bigint NOT NULL REFERENCES locations (id),
  type_id        bigint NOT NULL REFERENCES appointment_types (id),
  starts_at      timestamptz NOT NULL,
  blocked_from   timestamptz NOT NULL,
  blocked_until  timestamptz NOT NULL,
  expires_at     timestamptz NOT NULL,
  status         text NOT NULL DEFAULT 'open'
                   CHECK (status IN ('open', 'accepted', 'declined', 'expired', 'withdrawn')),
  appointment_id bigint REFERENCES appointments (id),
  created_at     timestamptz NOT NULL DEFAULT now(),
  decided_at     timestamptz,
  CHECK (blocked_from <= starts_at AND blocked_until > starts_at),
  -- accepting releases the hold first, books, then records the booking
  CHECK (appointment_id IS NULL OR status = 'accepted'),
  CHECK ((status = 'open') = (decided_at IS NULL)),
  CONSTRAINT waitlist_offers_no_overlap EXCLUDE USING gist (
    provider_id WITH =, tstzrange(blocked_from, blocked_until) WITH &&) WHERE (status = 'open')
);
CREATE UNIQUE INDEX waitlist_offers_one_open_key ON waitlist_offers (entry_id) WHERE status = 'open';
CREATE INDEX waitlist_offers_expiry_idx ON waitlist_offers (expires_at) WHERE status = 'open';

-- Open slots of one type at one location for the given providers between
-- two instants: the weekly template (and 'extra' hours) laid out on each
-- local day in the location's zone, cut on the type's grid, minus holidays,
-- 'off' exceptions, the minimum notice and the booking horizon, existing
-- appointments (buffers included on both sides), slots held by open
-- waitlist offers, per-day limits and
-- slots whose needed room kinds are all taken.
-- ignore_appointment lets a reschedule look past the appointment it moves.
-- Local days are computed in the zone, so a 23- or 25-hour day yields the
-- wall-clock hours of its template.
CREATE FUNCTION open_slots(p_type bigint, p_location bigint, p_providers bigint[],
                           p_from timestamptz, p_to timestamptz,
                           ignore_appointment bigint DEFAULT 0)
RETURNS TABLE (provider_id bigint, starts_at timestamptz, ends_at timestamptz)
LANGUAGE sql STABLE AS $$
  WITH t AS (
    SELECT ty.*, make_interval(mins => ty.duration_min) AS dur,
           make_interval(mins => ty.buffer_before_min) AS before,
           make_interval(mins => ty.buffer_after_min) AS after
      FROM appointment_types ty WHERE ty.id = p_type
  ), loc AS (
    SELECT l.id, l.time_zone FROM locations l WHERE l.id = p_location
  ), days AS (
    SELECT d::date AS day
      FROM loc, generate_series((p_from AT TIME ZONE loc.time_zone)::date,
                                (p_to AT TIME ZONE loc.time_zone)::date, interval '1 day') d
     WHERE NOT EXISTS (SELECT 1 FROM holidays h
                        WHERE h.day = d::date AND (h.location_id IS NULL OR h.location_id = loc.id))
  ), windows AS (
    SELECT tp.provider_id,
           (days.day + tp.start_time) AT TIME ZONE loc.time_zone AS w_from,
           (days.day + tp.end_time) AT TIME ZONE loc.time_zone AS w_to
      FROM loc, days
      JOIN availability_templates tp
        ON tp.weekday = extract(isodow FROM days.day)
       AND days.day >= tp.effective_from
       AND (tp.effective_to IS NULL OR days.day <= tp.effective_to)
     WHERE tp.location_id = loc.id AND tp.provider_id = ANY (p_providers)
    UNION ALL
    SELECT x.provider_id, x.starts_at, x.ends_at
      FROM availability_exceptions x, loc
     WHERE x.kind = 'extra' AND x.location_id = loc.id AND x.provider_id = ANY (p_providers)
       AND x.ends_at > p_from AND x.starts_at < p_to
  ), busy AS MATERIALIZED (
    -- Each provider's booked time near the window as one multirange, read
    -- once through the exclusion index: a candidate then costs one binary
    -- search instead of one index probe (the old plan spent most of its
    -- time on those probes, one per candidate slot).
    SELECT a.provider_id, range_agg(tstzrange(a.blocked_from, a.blocked_until)) AS blocked
      FROM appointments a, t
     WHERE a.provider_id = ANY (p_providers) AND a.id <> ignore_appointment
       AND appointment_status_active(a.status) AND NOT a.overbooked
       AND tstzrange(a.blocked_from, a.blocked_until) && tstzrange(p_from - t.before, p_to + t.dur + t.after)
     GROUP BY a.provider_id
  ), candidates AS (
    SELECT DISTINCT w.provider_id, s AS starts_at, s + t.dur AS ends_at,
           -- built once here, not once per comparison below
           tstzrange(s - t.before, s + t.dur + t.after) AS blocked
      FROM windows w, t,
           generate_series(w.w_from, w.w_to - t.dur, make_interval(mins => t.grid_min)) s
  )
  SELECT c.provider_id, c.starts_at, c.ends_at
    FROM candidates c, t, loc
   WHERE c.starts_at >= p_from AND c.starts_at < p_to
     AND c.starts_at >= now() + make_interval(mins => t.min_notice_min)
     AND c.starts_at < now() + make_interval(days => t.horizon_days)
     AND NOT EXISTS (
       SELECT 1 FROM availability_exceptions x
        WHERE x.provider_id = c.provider_id AND x.kind = 'off'
          AND (x.location_id IS NULL OR x.location_id = loc.id)
          AND tstzrange(x.starts_at, x.ends_at) && tstzrange(c.starts_at, c.ends_at))
     AND NOT EXISTS (
       SELECT 1 FROM busy b
        WHERE b.provider_id = c.provider_id AND b.blocked && c.blocked)
     AND NOT EXISTS (
       SELECT 1 FROM waitlist_offers o
        WHERE o.provider_id = c.provider_id AND o.status = 'open'
          AND tstzrange(o.blocked_from, o.blocked_until) && c.blocked)
     AND (t.per_day_limit IS NULL OR t.per_day_limit > (
       SELECT count(*) FROM appointments a
        WHERE a.provider_id = c.provider_id AND a.type_id = t.id AND a.id <> ignore_appointment
          AND appointment_status_active(a.status)
          AND a.starts_at >= date_trunc('day', c.starts_at AT TIME ZONE loc.time_zone) AT TIME ZONE loc.time_zone
          AND a.starts_at < (date_trunc('day', c.starts_at AT TIME ZONE loc.time_zone) + interval '1 day')
                            AT TIME ZONE loc.time_zone))
     AND NOT EXISTS (
       SELECT 1 FROM unnest(t.resource_kinds) k(kind)
        WHERE NOT EXISTS (
          SELECT 1 FROM resources r
           WHERE r.location_id = loc.id AND r.kind = k.kind AND r.active
             AND NOT EXISTS (
               SELECT 1 FROM appointment_resources ar
                WHERE ar.resource_id = r.id AND ar.active AND ar.appointment_id <> ignore_appointment
                  AND tstzrange(ar.blocked_from, ar.blocked_until)
                      && c.blocked)))
$$;

-- Offers a freed start of a type (provider, location) to the first waiting
-- entry that matches it (type, location, provider if named, weekday, time
-- of day, date range; not a patient already booked at that time; not an
-- entry that already had this very slot), in priority then request order.
-- Only a start open_slots() still offers is held, for the location's hold
-- time (never past the start itself). Writes the hold, marks
-- the entry 'offered' and raises 'waitlist.offer' (delivered after
-- commit). Returns the offer id, or NULL when nobody matches.
CREATE FUNCTION waitlist_offer_slot(p_provider bigint, p_location bigint, p_type bigint,
                                    p_start timestamptz) RETURNS bigint
LANGUAGE plpgsql AS $$
DECLARE
  zone text := (SELECT time_zone FROM locations WHERE id = p_location);
  local timestamp := p_start AT TIME ZONE zone;
  entry waitlist_entries%ROWTYPE;
  offer bigint;
BEGIN
  IF NOT EXISTS (SELECT 1 FROM open_slots(p_type, p_location, ARRAY[p_provider], p_start,
                                         p_start + interval '1 minute') s
                  WHERE s.starts_at = p_start) THEN
    RETURN NULL;
  END IF;
  SELECT w.* INTO entry FROM waitlist_entries w
   WHERE w.status = 'waiting' AND w.type_id = p_type AND w.location_id = p_location
     AND (w.provider_id IS NULL OR w.provider_id = p_provider)
     AND (cardinality(w.weekdays) = 0 OR extract(isodow FROM local)::int = ANY (w.weekdays))
     AND (w.time_of_day = 'any' OR (w.time_of_day = 'morning') = (local::time < '12:00'))
     AND (w.from_date IS NULL OR local::date >= w.from_date)
     AND (w.to_date IS NULL OR local::date <= w.to_date)
     AND NOT EXISTS (SELECT 1 FROM waitlist_offers o WHERE o.entry_id = w.id
                        AND o.provider_id = p_provider AND o.starts_at = p_start)
     AND NOT EXISTS (SELECT 1 FROM appointments a WHERE a.patient_id = w.patient_id
                        AND appointment_status_active(a.status) AND a.starts_at = p_start)
   ORDER BY w.priority, w.requested_at, w.id
   LIMIT 1 FOR UPDATE SKIP LOCKED;
  IF NOT FOUND THEN
    RETURN NULL;
  END IF;
  INSERT INTO waitlist_offers (entry_id, provider_id, location_id, type_id, starts_at,
                               blocked_from, blocked_until, expires_at)
  SELECT entry.id, p_provider, p_location, t.id, p_start,
         p_start - make_interval(mins => t.buffer_before_min),
         p_start + make_interval(mins => t.duration_min + t.buffer_after_min),
         least(p_start, now() + make_interval(mins => coalesce(
           (SELECT s.offer_hold_min FROM waitlist_settings s WHERE s.location_id = p_location), 30)))
    FROM appointment_types t WHERE t.id = p_type
  ON CONFLICT DO NOTHING RETURNING id INTO offer;
  IF offer IS NULL THEN
    RETURN NULL;
  END IF;
  UPDATE waitlist_entries SET status = 'offered', updated_at = now() WHERE id = entry.id;
  PERFORM pg_notify('frontdesk_events', 'waitlist.offer' || chr(9) || 'waitlist:' || entry.id);
  RETURN offer;
END
$$;

-- Closes an open offer as 'declined', 'expired' or 'withdrawn', puts its
-- entry back in the queue (unless the entry is being removed) and offers
-- the slot to the next matching entry. Returns the next offer's id or NULL.
CREATE FUNCTION waitlist_close_offer(p_offer bigint, p_outcome text) RETURNS bigint
LANGUAGE plpgsql AS $$
DECLARE
  o waitlist_offers%ROWTYPE;
BEGIN
  UPDATE waitlist_offers SET status = p_outcome, decided_at = now()
   WHERE id = p_offer AND status = 'open' RETURNING * INTO o;
  IF NOT FOUND THEN
    RETURN NULL;
  END IF;
  UPDATE waitlist_entries SET status = 'waiting', updated_at = now()
   WHERE id = o.entry_id AND status = 'offered';
  PERFORM pg_notify('frontdesk_events', 'waitlist.' || p_outcome || chr(9) || 'waitlist:' || o.entry_id);
  RETURN waitlist_offer_slot(o.provider_id, o.location_id, o.type_id, o.starts_at);
END
$$;

-- The expiry timer's work: every open offer past its time moves on.
CREATE FUNCTION waitlist_expire_offers() RETURNS integer
LANGUAGE plpgsql AS $$
DECLARE
  o record;
  n integer := 0;
BEGIN
  FOR o IN SELECT id FROM waitlist_offers WHERE status = 'open' AND expires_at <= now()
            ORDER BY expires_at, id FOR UPDATE SKIP LOCKED LOOP
    PERFORM waitlist_close_offer(o.id, 'expired');
    n := n + 1;
  END LOOP;
  RETURN n;
END
$$;
