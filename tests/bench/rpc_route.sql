-- pgbench: the statements of one Phone.Route call as the load generator
-- makes it (line main, now; four callers in five are one of the first
-- 5,000 patients, the fifth a stranger), in one transaction as frontdeskd
-- runs them: statement timeout, session check, the instant as text, the
-- line's facts (time state, patients with that phone, listed number,
-- on-call), for a known patient whether they have an appointment today
-- (with the handler's check that scheduling is installed), the rules in
-- priority order (20 in the bench clinic: the demo's 10 and seed.sql's
-- 10). Route records nothing, so there is no idempotency row, audit row
-- or NOTIFY. Conditions are then decided in C; so are they here: not at
-- all (pgbench measures the database's part).
-- Variables from tests/bench/run.sh: route_min, route_patients (the first
-- patient id and how many patients the callers are; bench patients have
-- the phone +1555 and their id).
-- Keep in step with server/handlers/phone_rules.c (phone_route_evaluate,
-- read_facts, patient_has_appointment_today) and server/dispatch.c.
-- Each client its own session row (bench-desk-<n>), as each simulated desk
-- has its own login: no two clients wait on one session's row lock.
\set desk :client_id % 64
\set pid random(:route_min, :route_min + :route_patients - 1)
\set stranger random(0, 4)
\set other random(0, 9999999)
SELECT CASE WHEN :stranger = 0 THEN '+1444' || lpad(:other::text, 7, '0')
            ELSE '+1555' || lpad(:pid::text, 7, '0') END AS caller
\gset
BEGIN;
-- @session-check
SELECT (CASE WHEN 0::bigint = 0 THEN now() ELSE to_timestamp(0 / 1000.0) END)::text AS at
\gset
SELECT pl.id AS line_id, pl.location_id, ts.state, ts.reason,
  (SELECT count(*) FROM patients WHERE phone_e164 = :caller::text AND merged_into IS NULL) AS patients,
  coalesce(ln.queue_id, 0), coalesce(ln.name, ''), coalesce(lq.code, ''),
  coalesce(oc.number_e164, ''), coalesce(ocs.display_name, '')
  FROM phone_lines pl
  CROSS JOIN LATERAL phone_time_state(pl.location_id, :at::timestamptz) ts
  LEFT JOIN phone_listed_numbers ln ON ln.number_e164 = :caller::text
  LEFT JOIN phone_queues lq ON lq.id = ln.queue_id
  LEFT JOIN phone_on_call oc ON oc.location_id = pl.location_id
    AND oc.starts_at <= :at::timestamptz AND :at::timestamptz < oc.ends_at
  LEFT JOIN staff ocs ON ocs.id = oc.staff_id
 WHERE pl.code = 'main'
\gset
\if :patients > 0
SELECT to_regclass('appointments') IS NOT NULL;
SELECT EXISTS (SELECT 1 FROM appointments a JOIN patients pt ON pt.id = a.patient_id,
               locations l
         WHERE l.id = :location_id AND pt.phone_e164 = :caller::text AND pt.merged_into IS NULL
           AND a.status NOT IN ('cancelled', 'no_show', 'rescheduled')
           AND (a.starts_at AT TIME ZONE l.time_zone)::date =
               (:at::timestamptz AT TIME ZONE l.time_zone)::date);
\endif
SELECT r.id, r.name, r.priority, coalesce(l.code, ''), r.condition, coalesce(r.menu_choice, ''),
  r.action, coalesce(q.code, ''), coalesce(r.number_e164, ''), coalesce(r.voicemail_box, ''),
  r.line_id, r.queue_id
  FROM phone_rules r LEFT JOIN phone_lines l ON l.id = r.line_id
  LEFT JOIN phone_queues q ON q.id = r.queue_id
 ORDER BY r.priority;
COMMIT;
