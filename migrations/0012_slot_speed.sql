-- Slot search, second step (issue 7): the same open slots for less work.
-- Measured on the bench clinic (docs/PERFORMANCE.md, "Slot search, second
-- step"): one local day for 11 providers cost about 2 ms in PostgreSQL,
-- nearly all of it per candidate start (about 430 a day, half of them on
-- the next day, which the range then threw away): each was sorted with
-- its blocked range for DISTINCT, then passed through five checks (three
-- anti-joins, two subplans), most of which have nothing to say about most
-- types; the bookings were read through the exclusion index's GiST tree,
-- one descent per provider; and wherever open_slots() was inlined into a
-- statement PostgreSQL plans afresh on each call (the provider's week,
-- booking's check), planning its 160 lines took 1.8 ms of a 2.2 ms call.
-- The rules are unchanged, and open_slots() stays the one judge that the
-- search, booking and the waitlist ask.

-- A booking blocks its provider and rooms at most 240 minutes before its
-- start and 240 after its end, the most an appointment type's buffers
-- allow (0003). Booking has always written exactly that; said here so
-- that open_slots() may look for the bookings near a time in the plain
-- btree on (provider_id, starts_at): a booking whose blocked time meets
-- [a, b) starts after a - 16 hours (12 hours at most long, plus 4) and
-- before b + 4 hours.
ALTER TABLE appointments ADD CONSTRAINT appointments_buffers_bounded
  CHECK (starts_at - blocked_from <= interval '240 minutes'
         AND blocked_until - ends_at <= interval '240 minutes');

-- open_slots() as in 0010, computed in a cheaper order:
--
-- - The time limits of a start (the range asked for, the minimum notice,
--   the horizon) are worked out once per call (t.allowed), and each
--   window's starts are laid out only within them: a window that has
--   none is skipped, and a start outside them is never made, sorted or
--   checked.
-- - A provider's bookings, open waitlist offers and 'off' exceptions
--   become one multirange per provider of the START times they rule out
--   (CTE taken), so a start costs one hash lookup and one binary search.
--   A start s blocks [s - before, s + dur + after); that meets a booked or
--   held [from, until) exactly when from - dur - after < s < until +
--   before, the open range kept for it. An 'off' exception [from, until)
--   meets the slot [s, s + dur) exactly when from - dur < s < until. The
--   arithmetic is on whole minutes, so the shifted bounds are exact.
-- - The per-day limit and the room checks run only for a type that has
--   them (the checks themselves are 0010's, word for word).
-- - PL/pgSQL rather than an inlined SQL function, with its plan made once
--   per connection and kept: generic, because PostgreSQL's own choice
--   between a generic and a custom plan went to planning anew on every
--   call for a single provider (its estimate for one provider is lower).
--   The kept plan is the one first_open_slot() already used.
--
-- Same signature, same rows: compared with 0010's definition on the bench
-- clinic over random types, locations, provider sets, ranges and times of
-- day (docs/PERFORMANCE.md says how). A reversed range now finds nothing
-- where 0010 could fail building a range from it; no caller asks one.
CREATE OR REPLACE FUNCTION open_slots(p_type bigint, p_location bigint, p_providers bigint[],
                                      p_from timestamptz, p_to timestamptz,
                                      ignore_appointment bigint DEFAULT 0)
RETURNS TABLE (provider_id bigint, starts_at timestamptz, ends_at timestamptz)
LANGUAGE plpgsql STABLE
-- a day's or a week's slots, not the default guess of 1,000 rows
ROWS 100
SET plan_cache_mode = force_generic_plan
AS $$
BEGIN
  RETURN QUERY
  WITH t AS (
    SELECT ty.id, ty.per_day_limit, ty.resource_kinds, ty.grid_min,
           make_interval(mins => ty.duration_min) AS dur,
           make_interval(mins => ty.buffer_before_min) AS before,
           make_interval(mins => ty.buffer_after_min) AS after,
           make_interval(mins => ty.grid_min) AS grid,
           -- The starts the range, the minimum notice and the horizon
           -- allow; empty when either end of the range is NULL (0010's
           -- comparisons were then never true) or nothing is left.
           CASE WHEN p_from IS NOT NULL AND p_to IS NOT NULL THEN
             tstzrange(greatest(p_from, now() + make_interval(mins => ty.min_notice_min)),
                       greatest(p_from, now() + make_interval(mins => ty.min_notice_min),
                                least(p_to, now() + make_interval(days => ty.horizon_days))))
           ELSE 'empty' END AS allowed,
           -- Every time a start of the range may block, buffers included
           -- (empty, not an error, should the range be reversed).
           tstzrange(p_from - make_interval(mins => ty.buffer_before_min),
                     greatest(p_from - make_interval(mins => ty.buffer_before_min),
                              p_to + make_interval(mins => ty.duration_min + ty.buffer_after_min)))
             AS near
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
  ), taken AS MATERIALIZED (
    -- The starts each provider cannot have, as one multirange, read once.
    SELECT f.provider_id, range_agg(f.starts) AS starts
      FROM (
        SELECT a.provider_id,
               tstzrange(a.blocked_from - t.dur - t.after, a.blocked_until + t.before, '()')
          FROM appointments a, t
         WHERE a.provider_id = ANY (p_providers) AND a.id <> ignore_appointment
           AND appointment_status_active(a.status) AND NOT a.overbooked
           -- blocked time meeting t.near (both ranges non-empty), found
           -- through appointments_provider_day_idx (see
           -- appointments_buffers_bounded above)
           AND a.blocked_from < upper(t.near) AND a.blocked_until > lower(t.near)
           AND a.starts_at > lower(t.near) - interval '16 hours'
           AND a.starts_at < upper(t.near) + interval '4 hours'
        UNION ALL
        SELECT o.provider_id,
               tstzrange(o.blocked_from - t.dur - t.after, o.blocked_until + t.before, '()')
          FROM waitlist_offers o, t
         WHERE o.provider_id = ANY (p_providers) AND o.status = 'open'
           AND tstzrange(o.blocked_from, o.blocked_until) && t.near
        UNION ALL
        SELECT x.provider_id, tstzrange(x.starts_at - t.dur, x.ends_at, '()')
          FROM availability_exceptions x, t, loc
         WHERE x.provider_id = ANY (p_providers) AND x.kind = 'off'
           AND (x.location_id IS NULL OR x.location_id = loc.id)
           AND tstzrange(x.starts_at, x.ends_at) && t.near
      ) f (provider_id, starts)
     GROUP BY f.provider_id
  ), candidates AS (
    -- Each window's starts on its grid, from the first the limits allow
    -- (w_from plus whole grid steps, exactly where stepping from w_from
    -- arrives) to the last. The test on t.allowed is then true for every
    -- start laid out; it stays as the rule itself.
    SELECT DISTINCT w.provider_id, s AS starts_at
      FROM windows w, t,
           generate_series(
             w.w_from + make_interval(mins => t.grid_min * (CASE
               WHEN lower(t.allowed) > w.w_from
               THEN ((extract(epoch FROM lower(t.allowed) - w.w_from) * 1000000)::bigint
                     + t.grid_min * 60000000::bigint - 1) / (t.grid_min * 60000000::bigint)
               ELSE 0 END)::integer),
             least(w.w_to - t.dur, upper(t.allowed) - interval '1 microsecond'),
             t.grid) s
     WHERE w.w_from < upper(t.allowed) AND w.w_to - t.dur >= lower(t.allowed)
       AND t.allowed @> s
  )
  SELECT c.provider_id, c.starts_at, c.starts_at + t.dur
    FROM candidates c CROSS JOIN t CROSS JOIN loc
    LEFT JOIN taken tk ON tk.provider_id = c.provider_id
   WHERE NOT coalesce(tk.starts @> c.starts_at, false)
     AND (t.per_day_limit IS NULL OR t.per_day_limit > (
       SELECT count(*) FROM appointments a
        WHERE a.provider_id = c.provider_id AND a.type_id = t.id AND a.id <> ignore_appointment
          AND appointment_status_active(a.status)
          AND a.starts_at >= date_trunc('day', c.starts_at AT TIME ZONE loc.time_zone) AT TIME ZONE loc.time_zone
          AND a.starts_at < (date_trunc('day', c.starts_at AT TIME ZONE loc.time_zone) + interval '1 day')
                            AT TIME ZONE loc.time_zone))
     AND (cardinality(t.resource_kinds) = 0 OR NOT EXISTS (
       SELECT 1 FROM unnest(t.resource_kinds) k(kind)
        WHERE NOT EXISTS (
          SELECT 1 FROM resources r
           WHERE r.location_id = loc.id AND r.kind = k.kind AND r.active
             AND NOT EXISTS (
               SELECT 1 FROM appointment_resources ar
                WHERE ar.resource_id = r.id AND ar.active AND ar.appointment_id <> ignore_appointment
                  AND tstzrange(ar.blocked_from, ar.blocked_until)
                      && tstzrange(c.starts_at - t.before, c.starts_at + t.dur + t.after))
             AND NOT EXISTS (
               SELECT 1 FROM waitlist_offer_resources h
                WHERE h.resource_id = r.id AND h.active
                  AND tstzrange(h.blocked_from, h.blocked_until)
                      && tstzrange(c.starts_at - t.before, c.starts_at + t.dur + t.after)))));
END
$$;

-- first_open_slot() as in 0008, with each day's two instants worked out
-- once in the loop: written inside the query, they were parameters of its
-- kept (generic) plan, and every comparison with them converted the local
-- midnight into the zone again, twice per candidate start.
CREATE OR REPLACE FUNCTION first_open_slot(p_type bigint, p_location bigint, p_providers bigint[],
                                           p_first_day date, p_days integer, p_time_of_day text)
RETURNS TABLE (provider_id bigint, starts_at timestamptz, ends_at timestamptz)
LANGUAGE plpgsql STABLE ROWS 1 AS $$
DECLARE
  zone      text;
  day_from  timestamptz;
  day_until timestamptz;
BEGIN
  SELECT l.time_zone INTO zone FROM locations l WHERE l.id = p_location;
  IF zone IS NULL THEN
    RETURN;
  END IF;
  FOR i IN 0 .. p_days - 1 LOOP
    day_from := (p_first_day + i)::timestamp AT TIME ZONE zone;
    day_until := (p_first_day + i + 1)::timestamp AT TIME ZONE zone;
    -- The providers' names are read only for the day's earliest start.
    RETURN QUERY
      WITH open AS MATERIALIZED (
        SELECT s.provider_id, s.starts_at, s.ends_at
          FROM open_slots(p_type, p_location, p_providers, day_from, day_until) s
         WHERE p_time_of_day = ''
            OR (p_time_of_day = 'morning') = ((s.starts_at AT TIME ZONE zone)::time < time '12:00'))
      SELECT o.provider_id, o.starts_at, o.ends_at
        FROM open o JOIN providers p ON p.id = o.provider_id
       WHERE o.starts_at = (SELECT min(e.starts_at) FROM open e)
       ORDER BY p.display_name, p.id
       LIMIT 1;
    IF FOUND THEN
      RETURN;
    END IF;
  END LOOP;
END
$$;
