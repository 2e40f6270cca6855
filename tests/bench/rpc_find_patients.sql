-- pgbench: the statements of one Patients.FindPatients call (a name, limit
-- 20), in one transaction as frontdeskd runs them: statement timeout,
-- session check, the name search (patients_named(), up to three passes
-- inside the one statement, as in the server), one audit row per patient
-- found.
-- The name is drawn (before BEGIN) as the load generator draws it: a given
-- name and a two-syllable family name from patients.sql's syllables. To
-- hand the found ids to the audit insert, the search is wrapped in
-- array_agg: the same search, one row back.
-- Variables from tests/bench/run.sh: none needed.
-- Keep in step with server/handlers/patients.c and server/audit.c.
-- Each client its own session row (bench-desk-<n>), as each simulated desk
-- has its own login: no two clients wait on one session's row lock.
\set desk :client_id % 64
\set g random(1, 12)
\set f1 random(1, 40)
\set f2 random(1, 40)
\set rid random(1, 9223372036854775807)
\set typo random(0, 3)
\set at random(0, 1000)
SELECT CASE WHEN :typo = 0 THEN overlay(n PLACING '' FROM 2 + :at % (length(n) - 2) FOR 1)
            ELSE n END AS name FROM (
SELECT (ARRAY['maria', 'james', 'thanh', 'emily', 'chidi', 'lukas', 'giulia', 'aisha', 'olivia',
              'noah', 'sofia', 'liam'])[:g::int] || ' '
       || (ARRAY['ab','al','an','ar','ba','be','bo','da','de','di','el','en','er','fa','fe','ga',
                 'go','ha','he','ka','ko','la','le','li','lo','ma','me','mi','mo','na','ne','ni',
                 'no','ra','re','ri','ro','sa','se','ta'])[:f1::int]
       || (ARRAY['ab','al','an','ar','ba','be','bo','da','de','di','el','en','er','fa','fe','ga',
                 'go','ha','he','ka','ko','la','le','li','lo','ma','me','mi','mo','na','ne','ni',
                 'no','ra','re','ri','ro','sa','se','ta'])[:f2::int] AS n) drawn
\gset
BEGIN;
-- @session-check
SELECT coalesce(array_agg(id), '{}') AS ids FROM (
SELECT id, mrn, family_name, given_name, coalesce(preferred_name, ''),
  coalesce(to_char(date_of_birth, 'YYYY-MM-DD'), ''), coalesce(phone_e164, ''),
  coalesce(merged_into, 0), n.score, ''
  FROM patients_named(:name, NULL::date, NULL, NULL, false, 20) n
  JOIN patients USING (id)
 ORDER BY n.score DESC, family_name, given_name, id) found
\gset
INSERT INTO audit_log (staff_id, desk_id, method, patient_id, subject, outcome, request_id)
SELECT :staff_id::bigint, :desk_id::bigint, '/frontdesk.v1.Patients/FindPatients', pid,
       E'patient\x3asearch', 'OK',
       decode(lpad(to_hex(:rid::bigint), 32, '0'), 'hex')
  FROM unnest(:ids::bigint[]) AS pid;
COMMIT;
