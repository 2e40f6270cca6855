-- pgbench: the statements of one Scheduling.Book call as the load generator
-- makes it (a follow-up with a random provider, an afternoon start 1-50
-- days ahead, a random patient), in one transaction as frontdeskd runs
-- them: statement timeout, session check, the idempotency claim, resolving
-- provider, place, type and patient, the local start as an instant, the
-- open-slot check, the history reason (who is acting was set by the
-- session check), the appointment insert under the
-- no-overlap exclusion constraint, its reminders, the appointment read
-- back for the reply, the NOTIFY, the stored reply and the audit row.
-- Where the server would refuse a taken slot (rare here), this script
-- carries on: the insert lands nothing and the rest finds no row.
-- The insert is wrapped so that it always returns one row for \gset.
-- Variables from tests/bench/run.sh: patients_min, patients_max, providers,
-- type (follow-up, a parameter as in the server).
-- Keep in step with server/handlers/scheduling_appointments.c and
-- scheduling_common.c, server/dispatch.c.
-- Each client its own session row (bench-desk-<n>), as each simulated desk
-- has its own login: no two clients wait on one session's row lock.
\set desk :client_id % 64
\set prov random(1, :providers)
\set patient random(:patients_min, :patients_max)
\set day random(1, 50)
\set hour random(13, 17)
\set quarter random(0, 3)
\set rid random(1, 9223372036854775807)
BEGIN;
-- @session-check
INSERT INTO idempotent_replies (request_id, method, staff_id)
VALUES (decode(lpad(to_hex(:rid::bigint), 32, '0'), 'hex'), '/frontdesk.v1.Scheduling/Book', :staff_id)
ON CONFLICT (request_id) DO NOTHING RETURNING 1;
SELECT p.id AS provider_id, l.id AS location_id, l.time_zone AS tz, l.code AS location_code,
  p.active, EXISTS (SELECT 1 FROM provider_locations pl
          WHERE pl.provider_id = p.id AND pl.location_id = l.id) AS works_there
  FROM providers p LEFT JOIN locations l ON CASE WHEN NULL::text IS NULL
    THEN l.id = (SELECT min(pl.location_id) FROM provider_locations pl
                 WHERE pl.provider_id = p.id)
    ELSE l.code = NULL END
 WHERE p.code = ('bench-p' || :prov)::text
    OR p.id = CASE WHEN ('bench-p' || :prov)::text ~ '^[0-9]{1,18}$'
                   THEN ('bench-p' || :prov)::text::bigint END
\gset
SELECT t.id AS type_id, t.per_day_limit IS NOT NULL AS has_limit, t.resource_kinds,
  EXISTS (SELECT 1 FROM provider_types pt WHERE pt.type_id = t.id
          AND pt.provider_id = :provider_id) AS offered,
  EXISTS (SELECT 1 FROM patients WHERE id = :patient) AS patient_known
  FROM appointment_types t
 WHERE t.active AND (t.code = :type::text
       OR t.id = CASE WHEN :type::text ~ '^[0-9]{1,18}$' THEN :type::text::bigint END)
\gset
SELECT local_instant((current_date + :day::int + make_time(:hour::int, :quarter::int * 15, 0))::timestamp,
                     :tz::text) AS instant
\gset
SELECT CASE WHEN false THEN :instant::timestamptz >= now() ELSE EXISTS (
  SELECT 1 FROM open_slots(:type_id, :location_id, ARRAY[:provider_id::bigint], :instant::timestamptz,
                           :instant::timestamptz + interval '1 minute')
   WHERE starts_at = :instant::timestamptz) END;
SELECT set_config('frontdesk.reason', 'bench', true);
WITH ins AS (
INSERT INTO appointments (patient_id, provider_id, location_id, type_id,
  starts_at, ends_at, blocked_from, blocked_until, reason, notes, overbooked,
  overbook_reason, rescheduled_from, booked_by)
SELECT :patient, :provider_id, :location_id, t.id, :instant::timestamptz,
  :instant::timestamptz + make_interval(mins => t.duration_min),
  :instant::timestamptz - make_interval(mins => t.buffer_before_min),
  :instant::timestamptz + make_interval(mins => t.duration_min + t.buffer_after_min),
  'bench', '', false, NULL, NULL::bigint, :staff_id FROM appointment_types t WHERE t.id = :type_id
ON CONFLICT DO NOTHING RETURNING id, blocked_from, blocked_until)
SELECT coalesce((SELECT id FROM ins), 0) AS appointment_id
\gset
INSERT INTO appointment_reminders (appointment_id, send_at)
SELECT a.id, a.starts_at - make_interval(mins => m)
  FROM appointments a JOIN appointment_types t ON t.id = a.type_id,
   unnest(t.reminder_minutes) m
 WHERE a.id = :appointment_id AND a.starts_at - make_interval(mins => m) > now()
ON CONFLICT DO NOTHING;
SELECT a.id, a.patient_id, pa.family_name || ', ' || pa.given_name, a.provider_id, p.code,
  p.display_name, t.code, t.name, l.code, l.time_zone, local_text(a.starts_at, l.time_zone),
  local_text(a.ends_at, l.time_zone), (extract(epoch FROM a.starts_at) * 1000)::bigint,
  (extract(epoch FROM a.ends_at) * 1000)::bigint, a.status, a.reason, a.notes,
  coalesce((SELECT array_agg(r.code ORDER BY r.code) FROM appointment_resources ar
            JOIN resources r ON r.id = ar.resource_id WHERE ar.appointment_id = a.id),
           '{}'),
  a.overbooked, coalesce(a.overbook_reason, ''), coalesce(a.cancel_reason, ''),
  coalesce(a.rescheduled_from, 0),
  coalesce((SELECT n.id FROM appointments n WHERE n.rescheduled_from = a.id), 0),
  coalesce(s.username, ''), (extract(epoch FROM a.booked_at) * 1000)::bigint
  FROM appointments a JOIN patients pa ON pa.id = a.patient_id
  JOIN providers p ON p.id = a.provider_id JOIN appointment_types t ON t.id = a.type_id
  JOIN locations l ON l.id = a.location_id LEFT JOIN staff s ON s.id = a.booked_by
 WHERE a.id = :appointment_id;
SELECT pg_notify('frontdesk_events', E'appointment.booked\tappointment' || chr(58) || :appointment_id);
UPDATE idempotent_replies SET reply = decode(repeat('ab', 190), 'hex')
 WHERE request_id = decode(lpad(to_hex(:rid::bigint), 32, '0'), 'hex');
INSERT INTO audit_log (staff_id, desk_id, method, patient_id, subject, outcome, request_id)
VALUES (:staff_id, :desk_id, '/frontdesk.v1.Scheduling/Book', :patient,
        'appointment' || chr(58) || :appointment_id, 'OK',
        decode(lpad(to_hex(:rid::bigint), 32, '0'), 'hex'));
COMMIT;
