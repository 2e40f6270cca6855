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
