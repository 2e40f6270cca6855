-- pgbench: the statements of one Patients.GetPatient call (by id), in one
-- transaction, exactly as frontdeskd runs them: the dispatcher's statement
-- timeout and session check, the handler's SELECT, the audit row.
-- Variables from tests/bench/run.sh: patients_min, patients_max.
-- Keep in step with server/handlers/patients.c, server/auth.c, server/audit.c.
-- Each client its own session row (bench-desk-<n>), as each simulated desk
-- has its own login: no two clients wait on one session's row lock.
\set desk :client_id % 64
\set pid random(:patients_min, :patients_max)
\set rid random(1, 9223372036854775807)
BEGIN;
SELECT set_config('statement_timeout', '30000', true);
WITH s AS (
  SELECT s.id, st.id AS staff_id, d.id AS desk_id, st.username,
         st.display_name, st.roles, d.code, s.created_at, s.expires_at,
         s.last_seen_at
    FROM sessions s
    JOIN staff st ON st.id = s.staff_id AND st.active
    JOIN desks d ON d.id = s.desk_id AND d.active
   WHERE s.token_hash = sha256(convert_to('bench-session-' || :desk, 'UTF8')) AND s.ended_at IS NULL
     AND s.expires_at > now()
     AND s.last_seen_at > now() - make_interval(secs => 900::float8)
                        - least(interval '10 seconds', make_interval(secs => 900::float8 / 4))),
 touched AS (
  UPDATE sessions SET last_seen_at = now()
   WHERE id = (SELECT id FROM s)
     AND last_seen_at < now() - least(interval '10 seconds', make_interval(secs => 900::float8 / 4)))
SELECT id AS session_id, staff_id, desk_id, username, display_name, roles, code,
  (extract(epoch FROM created_at) * 1000)::bigint AS created_ms,
  (extract(epoch FROM expires_at) * 1000)::bigint AS expires_ms,
  set_config('frontdesk.staff_id', staff_id::text, true) AS set_staff,
  set_config('frontdesk.desk_id', desk_id::text, true) AS set_desk
  FROM s
\gset
SELECT id, mrn, family_name, given_name, coalesce(preferred_name, ''),
  coalesce(to_char(date_of_birth, 'YYYY-MM-DD'), ''), coalesce(sex_at_birth, ''),
  coalesce(gender_identity, ''), coalesce(phone_e164, ''), coalesce(phone2_e164, ''),
  coalesce(email, ''), coalesce(address, ''), coalesce(preferred_language, ''),
  interpreter_needed, coalesce(emergency_contact, ''), consent_sms, consent_voice,
  consent_email, coalesce(merged_into, 0), version,
  coalesce((extract(epoch FROM created_at) * 1000)::bigint, 0),
  coalesce((extract(epoch FROM updated_at) * 1000)::bigint, 0)
  FROM patients
 WHERE id = :pid AND (NULL::text IS NULL OR mrn = upper(NULL));
INSERT INTO audit_log (staff_id, desk_id, method, patient_id, subject, outcome, request_id)
VALUES (:staff_id, :desk_id, '/frontdesk.v1.Patients/GetPatient', :pid, 'patient:' || :pid, 'OK',
        decode(lpad(to_hex(:rid::bigint), 32, '0'), 'hex'));
COMMIT;
