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
-- @session-check
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
