-- A waitlist offer holds the rooms its slot needs, not only the provider's
-- time (issue 3, waitlist). Until now an offer kept the provider free but
-- not the procedure room: another desk could book the last room of that
-- kind meanwhile, and the waitlist patient's accept then failed with "room
-- just taken". Now the offer chooses, for each resource kind the entry's
-- type needs, one free room of that kind at the location (the booking's
-- rule: the free one with the lowest code) and holds it with the offer:
--
-- - waitlist_offer_resources: the rooms an open offer holds, over the
--   offer's blocked time (buffers included, as an appointment would
--   block them). `active` follows the offer (trigger below): closing the
--   offer (accepted, declined, expired, withdrawn) releases its rooms.
-- - waitlist_offer_resources_no_overlap: two open offers never hold the
--   same room at overlapping times.
-- - open_slots() counts a held room as busy for every search and booking,
--   so a type needing that kind finds no slot there while the offer is
--   open; the booking path (C) refuses a held room named with --room and
--   never picks one itself.
-- - waitlist_offer_slot() offers a start only to an entry whose rooms can
--   all be held; accepting books exactly those rooms (C: the accepting
--   transaction releases the hold, then booking takes the offer's rooms).
--
-- Offers opened before this migration hold no rooms; they close within
-- their hold time (at most a day).

CREATE TABLE waitlist_offer_resources (
  offer_id      bigint NOT NULL REFERENCES waitlist_offers (id),
  resource_id   bigint NOT NULL REFERENCES resources (id),
  blocked_from  timestamptz NOT NULL,
  blocked_until timestamptz NOT NULL,
  active        boolean NOT NULL DEFAULT true,
  PRIMARY KEY (offer_id, resource_id),
  CHECK (blocked_until > blocked_from),
  CONSTRAINT waitlist_offer_resources_no_overlap EXCLUDE USING gist (
    resource_id WITH =, tstzrange(blocked_from, blocked_until) WITH &&) WHERE (active)
);

-- An offer that stops being open releases its rooms, whatever closed it
-- (waitlist_close_offer, the accept in C, a later domain's code).
CREATE FUNCTION waitlist_offers_release_rooms() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
  UPDATE waitlist_offer_resources SET active = false WHERE offer_id = NEW.id AND active;
  RETURN NULL;
END
$$;
CREATE TRIGGER waitlist_offers_release_rooms AFTER UPDATE OF status ON waitlist_offers
  FOR EACH ROW WHEN (OLD.status = 'open' AND NEW.status <> 'open')
  EXECUTE FUNCTION waitlist_offers_release_rooms();

-- The rooms an offer would hold: for each needed kind in the type's order,
-- the active room of that kind at the location that no appointment and no
-- open offer holds during p_blocked, lowest code first (as booking picks),
-- each room once. NULL when some kind has no free room.
CREATE FUNCTION waitlist_free_rooms(p_location bigint, p_kinds text[], p_blocked tstzrange)
RETURNS bigint[]
LANGUAGE plpgsql STABLE AS $$
DECLARE
  needed text;
  room   bigint;
  rooms  bigint[] := '{}';
BEGIN
  FOREACH needed IN ARRAY p_kinds LOOP
    SELECT r.id INTO room FROM resources r
     WHERE r.location_id = p_location AND r.kind = needed AND r.active
       AND r.id <> ALL (rooms)
       AND NOT EXISTS (SELECT 1 FROM appointment_resources ar
                        WHERE ar.resource_id = r.id AND ar.active
                          AND tstzrange(ar.blocked_from, ar.blocked_until) && p_blocked)
       AND NOT EXISTS (SELECT 1 FROM waitlist_offer_resources h
                        WHERE h.resource_id = r.id AND h.active
                          AND tstzrange(h.blocked_from, h.blocked_until) && p_blocked)
     ORDER BY r.code LIMIT 1;
    IF room IS NULL THEN
      RETURN NULL;
    END IF;
    rooms := rooms || room;
  END LOOP;
  RETURN rooms;
END
$$;

-- open_slots() as in 0003 with one more rule: a room held by an open
-- waitlist offer is busy like a booked one. Same signature, same result;
-- the held-room test sits next to the booked-room test, inside the
-- per-kind check, so first_open_slot()'s day-by-day calls keep their cost.
CREATE OR REPLACE FUNCTION open_slots(p_type bigint, p_location bigint, p_providers bigint[],
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
                      && c.blocked)
             AND NOT EXISTS (
               SELECT 1 FROM waitlist_offer_resources h
                WHERE h.resource_id = r.id AND h.active
                  AND tstzrange(h.blocked_from, h.blocked_until) && c.blocked)))
$$;

-- waitlist_offer_slot() as in 0009 (which entries match, in which order)
-- with the rooms: an entry is offered the start only when a room of every
-- kind its type needs is free for the whole blocked time; the offer and
-- its rooms are written together. Should a racing offer take one of the
-- rooms between the choice and the insert, the exclusion constraint
-- refuses it, this entry's offer is undone (the inner block) and the next
-- entry is tried.
CREATE OR REPLACE FUNCTION waitlist_offer_slot(p_provider bigint, p_location bigint, p_type bigint,
                                               p_start timestamptz) RETURNS bigint
LANGUAGE plpgsql AS $$
DECLARE
  zone text := (SELECT time_zone FROM locations WHERE id = p_location);
  local timestamp := p_start AT TIME ZONE zone;
  entry waitlist_entries%ROWTYPE;
  ty appointment_types%ROWTYPE;
  blocked tstzrange;
  rooms bigint[];
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
    SELECT * INTO ty FROM appointment_types WHERE id = entry.type_id;
    blocked := tstzrange(p_start - make_interval(mins => ty.buffer_before_min),
                         p_start + make_interval(mins => ty.duration_min + ty.buffer_after_min));
    rooms := waitlist_free_rooms(p_location, ty.resource_kinds, blocked);
    CONTINUE WHEN rooms IS NULL;
    BEGIN
      INSERT INTO waitlist_offers (entry_id, provider_id, location_id, type_id, starts_at,
                                   blocked_from, blocked_until, expires_at)
      VALUES (entry.id, p_provider, p_location, ty.id, p_start, lower(blocked), upper(blocked),
              least(p_start, now() + make_interval(mins => coalesce(
                (SELECT s.offer_hold_min FROM waitlist_settings s WHERE s.location_id = p_location), 30))))
      ON CONFLICT DO NOTHING RETURNING id INTO offer;
      CONTINUE WHEN offer IS NULL;
      INSERT INTO waitlist_offer_resources (offer_id, resource_id, blocked_from, blocked_until)
      SELECT offer, room, lower(blocked), upper(blocked) FROM unnest(rooms) room;
    EXCEPTION WHEN exclusion_violation THEN
      CONTINUE;
    END;
    UPDATE waitlist_entries SET status = 'offered', updated_at = now() WHERE id = entry.id;
    PERFORM pg_notify('frontdesk_events', 'waitlist.offer' || chr(9) || 'waitlist:' || entry.id);
    RETURN offer;
  END LOOP;
  RETURN NULL;
END
$$;
