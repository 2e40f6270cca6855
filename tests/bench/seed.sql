-- The benchmark's generated clinic, loaded by tests/bench/run.sh after
-- `frontdeskd seed-demo` (which made location 'main', the demo staff, desks
-- and appointment types). psql variables:
--   :locations  locations in all (the demo's 'main' counts as the first)
--   :providers  providers, spread round-robin over the locations
--   :days_back  days of past appointments per provider (one year by default)
-- Patients are added separately by patients.sql, so the patient-search
-- curve can grow the same database step by step.
--
-- Everything is plain generate_series SQL. Bulk rows are written with
-- session_replication_role = replica: the history and birth-date triggers
-- would only add rows nobody reads here, and the generated data is
-- consistent by construction (foreign keys are not re-checked).
\set ON_ERROR_STOP on

BEGIN;

INSERT INTO locations (code, name, time_zone)
SELECT 'bench-loc' || g, 'Bench clinic ' || g,
       (ARRAY['America/Chicago', 'America/Denver'])[1 + g % 2]
  FROM generate_series(2, :locations) g
ON CONFLICT (code) DO NOTHING;

-- One desk per simulated desk slot: the load generator logs desk k in at
-- bench-desk-<k % 64>.
INSERT INTO desks (code, name, location_id)
SELECT 'bench-desk-' || g, 'Bench desk ' || g, (SELECT min(id) FROM locations)
  FROM generate_series(0, 63) g
ON CONFLICT (code) DO NOTHING;

INSERT INTO providers (code, display_name, specialties)
SELECT 'bench-p' || g, 'Dr. Bench ' || g,
       CASE WHEN g % 2 = 0 THEN '{family_medicine}'::text[] ELSE '{pediatrics}'::text[] END
  FROM generate_series(1, :providers) g
ON CONFLICT (code) DO NOTHING;

INSERT INTO provider_locations (provider_id, location_id)
SELECT p.id, l.id
  FROM providers p
  JOIN (SELECT id, row_number() OVER (ORDER BY id) - 1 AS k FROM locations) l
    ON l.k = (substr(p.code, 8)::int - 1) % :locations
 WHERE p.code LIKE 'bench-p%'
ON CONFLICT DO NOTHING;

INSERT INTO provider_types (provider_id, type_id)
SELECT p.id, t.id FROM providers p, appointment_types t
 WHERE p.code LIKE 'bench-p%' AND t.code IN ('follow-up', 'checkup', 'consult')
ON CONFLICT DO NOTHING;

-- Every day 08:00-18:00 local, from a year ago on.
INSERT INTO availability_templates (provider_id, location_id, weekday, start_time, end_time,
                                    effective_from)
SELECT pl.provider_id, pl.location_id, d, time '08:00', time '18:00',
       current_date - (:days_back + 7)
  FROM provider_locations pl JOIN providers p ON p.id = pl.provider_id,
       generate_series(1, 7) d
 WHERE p.code LIKE 'bench-p%';

-- Sixteen exam rooms at each location, bench-room-<k>-<r> for the k-th
-- location (1 = main): the load generator puts checked-in patients there.
INSERT INTO resources (location_id, code, name, kind)
SELECT l.id, 'bench-room-' || l.k || '-' || r, 'Exam ' || r, 'exam_room'
  FROM (SELECT id, row_number() OVER (ORDER BY id) AS k FROM locations) l,
       generate_series(1, 16) r
ON CONFLICT (code) DO NOTHING;

-- Call routing over 20 rules (issue 5's benchmark): the demo's rules plus
-- menu choices up to 20, each sending its callers to the front desk queue.
-- The load generator's calls choose no menu, so every route decision walks
-- the whole list to the demo's fallback, the most work a rule set costs.
INSERT INTO phone_rules (name, priority, condition, menu_choice, action, queue_id)
SELECT 'bench-menu-' || g, 100 + g, 'menu', 'bench' || g, 'queue',
       (SELECT min(id) FROM phone_queues)
  FROM generate_series(1, 20 - (SELECT count(*) FROM phone_rules WHERE name NOT LIKE 'bench-%')) g
ON CONFLICT (name) DO NOTHING;

COMMIT;

-- A clinic's year: every provider sees eight follow-ups each morning
-- (08:00-11:30, every 30 minutes) from :days_back days ago to a week
-- ahead; past ones completed, later ones booked. Afternoons stay open for
-- the booking load. Patients are assigned by a hash of the slot.
BEGIN;
SET LOCAL session_replication_role = replica;
WITH pts AS (SELECT min(id) AS lo, max(id) - min(id) + 1 AS n FROM patients),
     t AS (SELECT id, duration_min FROM appointment_types WHERE code = 'follow-up'),
     pl AS (SELECT pl.provider_id, pl.location_id, l.time_zone
              FROM provider_locations pl JOIN providers p ON p.id = pl.provider_id
              JOIN locations l ON l.id = pl.location_id
             WHERE p.code LIKE 'bench-p%'),
     s AS (SELECT pl.*, ((current_date + d) + time '08:00' + k * interval '30 minutes')
                        AT TIME ZONE pl.time_zone AS at
             FROM pl, generate_series(-:days_back, 7) d, generate_series(0, 7) k)
INSERT INTO appointments (patient_id, provider_id, location_id, type_id, starts_at, ends_at,
                          blocked_from, blocked_until, status, reason)
SELECT pts.lo + ((hashint8(s.provider_id * 100000 + extract(epoch FROM s.at)::bigint)
                  & 9223372036854775807) % pts.n),
       s.provider_id, s.location_id, t.id, s.at,
       s.at + make_interval(mins => t.duration_min), s.at,
       s.at + make_interval(mins => t.duration_min),
       CASE WHEN s.at < now() THEN 'completed' ELSE 'booked' END, 'bench visit'
  FROM s, t, pts;
COMMIT;

ANALYZE;
