-- Gaps in the flow, closed: undoing a check-in puts the appointment back
-- where it was before the patient arrived (below), and a freed slot goes to
-- any waitlist patient it fits, not only those waiting for its type (end).
--
-- Undoing a check-in puts the appointment back where it was before the
-- patient arrived.
--
-- Scheduling's flow only moves an appointment forward (booked → confirmed →
-- arrived → checked_in → in_room → completed), which is right for every
-- ordinary move. The one honest way back is a check-in that was a mistake
-- (the wrong patient's appointment, a patient who went home before being
-- seen at the window): the visit is closed as 'undone' and the appointment
-- returns to booked or confirmed, so the schedule, the no-show sweep and a
-- later check-in all see it as still expected.
--
-- The database allows that move back only when it is true: the
-- appointment has an undone visit and no open one. Any other backward move
-- is refused as before (constraint appointments_status_move).

-- True when moving appointment p_id from old_status back to new_status is
-- the undo of its check-in.
CREATE FUNCTION appointment_arrival_undone(p_id bigint, old_status text, new_status text)
RETURNS boolean
LANGUAGE sql STABLE AS $$
  SELECT old_status IN ('arrived', 'checked_in', 'in_room')
     AND new_status IN ('booked', 'confirmed')
     AND EXISTS (SELECT 1 FROM visits v WHERE v.appointment_id = p_id AND v.status = 'undone')
     AND NOT EXISTS (SELECT 1 FROM visits v WHERE v.appointment_id = p_id
                        AND visit_status_open(v.status))
$$;

-- The status an appointment had before its patient arrived: the from_status
-- of the last move out of booked or confirmed ('booked' when the history
-- has none, as for rows written before history existed).
CREATE FUNCTION appointment_status_before_arrival(p_id bigint) RETURNS text
LANGUAGE sql STABLE AS $$
  SELECT coalesce((SELECT h.from_status FROM appointment_history h
                    WHERE h.appointment_id = p_id AND h.action = 'status'
                      AND h.from_status IN ('booked', 'confirmed')
                      AND h.to_status IN ('arrived', 'checked_in', 'in_room')
                    ORDER BY h.id DESC LIMIT 1), 'booked')
$$;

-- Scheduling's trigger (0003) with one change: a move is allowed when the
-- flow allows it or when it is the undo of a check-in; the history row of
-- that move says 'arrival_undone'.
CREATE OR REPLACE FUNCTION appointments_track() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
  who bigint := nullif(current_setting('frontdesk.staff_id', true), '')::bigint;
  why text := coalesce(current_setting('frontdesk.reason', true), '');
  undone boolean := false;
BEGIN
  IF TG_OP = 'INSERT' THEN
    INSERT INTO appointment_history (appointment_id, staff_id, action, to_status, starts_at, reason)
    VALUES (NEW.id, who, CASE WHEN NEW.rescheduled_from IS NULL THEN 'booked' ELSE 'booked_by_reschedule' END,
            NEW.status, NEW.starts_at, why);
    RETURN NEW;
  END IF;
  IF NEW.status <> OLD.status AND NOT appointment_status_move_ok(OLD.status, NEW.status) THEN
    undone := appointment_arrival_undone(NEW.id, OLD.status, NEW.status);
    IF NOT undone THEN
      RAISE EXCEPTION 'appointment cannot move from % to %', OLD.status, NEW.status
        USING ERRCODE = 'check_violation', CONSTRAINT = 'appointments_status_move';
    END IF;
  END IF;
  IF NEW.starts_at <> OLD.starts_at OR NEW.provider_id <> OLD.provider_id THEN
    RAISE EXCEPTION 'an appointment is moved by rescheduling, not by editing'
      USING ERRCODE = 'check_violation', CONSTRAINT = 'appointments_time_fixed';
  END IF;
  NEW.updated_at := now();
  IF NEW.status <> OLD.status THEN
    INSERT INTO appointment_history (appointment_id, staff_id, action, from_status, to_status, starts_at, reason)
    VALUES (NEW.id, who, CASE WHEN undone THEN 'arrival_undone' ELSE 'status' END,
            OLD.status, NEW.status, NEW.starts_at, why);
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

-- A freed slot goes to the waitlist's first patient it fits, whatever type
-- they are waiting for: a cancelled 30-minute check-up can become a
-- follow-up for someone who asked for one sooner. 0003 offered a slot only
-- to entries of the cancelled appointment's type, so a clinic with a long
-- follow-up list left freed check-up time empty.
--
-- Candidates: waiting entries at the location whose type the provider
-- offers (the freed type included), that name this provider or none, and
-- whose weekdays, time of day and dates match; by priority, then those
-- waiting for the freed type itself (the slot is shaped for it: length,
-- rooms), then request time (the first 50: the rest wait for the next
-- freed slot). The first
-- for which open_slots() still offers this very start for their own type
-- (its duration, buffers, grid, notice, per-day limit, rooms) gets the
-- offer, which holds the provider's time for that type. Returns the offer
-- id, or NULL when nobody fits.
CREATE OR REPLACE FUNCTION waitlist_offer_slot(p_provider bigint, p_location bigint, p_type bigint,
                                               p_start timestamptz) RETURNS bigint
LANGUAGE plpgsql AS $$
DECLARE
  zone text := (SELECT time_zone FROM locations WHERE id = p_location);
  local timestamp := p_start AT TIME ZONE zone;
  entry waitlist_entries%ROWTYPE;
  offer bigint;
BEGIN
  FOR entry IN
    SELECT w.* FROM waitlist_entries w
     WHERE w.status = 'waiting' AND w.location_id = p_location
       AND (w.type_id = p_type OR EXISTS (SELECT 1 FROM provider_types pt
                                          WHERE pt.provider_id = p_provider AND pt.type_id = w.type_id))
       AND (w.provider_id IS NULL OR w.provider_id = p_provider)
       AND (cardinality(w.weekdays) = 0 OR extract(isodow FROM local)::int = ANY (w.weekdays))
       AND (w.time_of_day = 'any' OR (w.time_of_day = 'morning') = (local::time < '12:00'))
       AND (w.from_date IS NULL OR local::date >= w.from_date)
       AND (w.to_date IS NULL OR local::date <= w.to_date)
       AND NOT EXISTS (SELECT 1 FROM waitlist_offers o WHERE o.entry_id = w.id
                          AND o.provider_id = p_provider AND o.starts_at = p_start)
       AND NOT EXISTS (SELECT 1 FROM appointments a WHERE a.patient_id = w.patient_id
                          AND appointment_status_active(a.status) AND a.starts_at = p_start)
     ORDER BY w.priority, w.type_id <> p_type, w.requested_at, w.id
     LIMIT 50 FOR UPDATE SKIP LOCKED
  LOOP
    CONTINUE WHEN NOT EXISTS (SELECT 1 FROM open_slots(entry.type_id, p_location, ARRAY[p_provider],
                                                      p_start, p_start + interval '1 minute') s
                               WHERE s.starts_at = p_start);
    INSERT INTO waitlist_offers (entry_id, provider_id, location_id, type_id, starts_at,
                                 blocked_from, blocked_until, expires_at)
    SELECT entry.id, p_provider, p_location, t.id, p_start,
           p_start - make_interval(mins => t.buffer_before_min),
           p_start + make_interval(mins => t.duration_min + t.buffer_after_min),
           least(p_start, now() + make_interval(mins => coalesce(
             (SELECT s.offer_hold_min FROM waitlist_settings s WHERE s.location_id = p_location), 30)))
      FROM appointment_types t WHERE t.id = entry.type_id
    ON CONFLICT DO NOTHING RETURNING id INTO offer;
    CONTINUE WHEN offer IS NULL;
    UPDATE waitlist_entries SET status = 'offered', updated_at = now() WHERE id = entry.id;
    PERFORM pg_notify('frontdesk_events', 'waitlist.offer' || chr(9) || 'waitlist:' || entry.id);
    RETURN offer;
  END LOOP;
  RETURN NULL;
END
$$;
