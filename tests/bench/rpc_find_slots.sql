-- pgbench: the statements of one Scheduling.FindSlots call as the load
-- generator makes it (type follow-up, a random location, first available),
-- in one transaction as frontdeskd runs them: statement timeout, session
-- check, resolving type, location and providers (the statement the
-- server builds for a type at a location, any provider), then the one
-- first_open_slot() query the handler sends (from the location's today up
-- to the type's horizon plus today; the function looks one local day at a
-- time and stops at the first day with a free slot, so the script does
-- whatever widening the server does, inside the same statement).
-- Variables from tests/bench/run.sh: locations, type (follow-up; passed as
-- a parameter, as the server does, so the id branch is not folded).
-- Keep in step with server/handlers/scheduling_slots.c.
-- Each client its own session row (bench-desk-<n>), as each simulated desk
-- has its own login: no two clients wait on one session's row lock.
\set desk :client_id % 64
\set loc random(1, :locations)
BEGIN;
-- @session-check
WITH t AS (SELECT id, horizon_days FROM appointment_types
           WHERE active AND (code = :type::text OR id = CASE WHEN :type::text ~ '^[0-9]{1,18}$' THEN :type::text::bigint END))
 , l AS (SELECT id, time_zone FROM locations
           WHERE code = (CASE WHEN :loc::int = 1 THEN 'main' ELSE 'bench-loc' || :loc END))
SELECT (SELECT id FROM t) AS type_id, (SELECT id FROM l) AS location_id, (SELECT horizon_days FROM t) AS horizon,
  true AS provider_known,
  (SELECT coalesce(array_agg(p.id ORDER BY p.id), '{}') FROM providers p
    WHERE p.active
      AND EXISTS (SELECT 1 FROM provider_types pt, t
                  WHERE pt.provider_id = p.id AND pt.type_id = t.id)
      AND EXISTS (SELECT 1 FROM provider_locations pl, l
                  WHERE pl.provider_id = p.id AND pl.location_id = l.id)) AS providers,
  (SELECT (now() AT TIME ZONE time_zone)::date::text FROM l) AS today
\gset
\set days :horizon + 1
SELECT s.provider_id, p.code, p.display_name, l.code, l.time_zone,
  local_text(s.starts_at, l.time_zone), local_text(s.ends_at, l.time_zone),
  (extract(epoch FROM s.starts_at) * 1000)::bigint,
  (extract(epoch FROM s.ends_at) * 1000)::bigint
  FROM first_open_slot(:type_id, :location_id, :providers::bigint[], :today::date, :days, '') s
  JOIN providers p ON p.id = s.provider_id
  JOIN locations l ON l.id = :location_id;
COMMIT;
