-- 0014: readiness as one statement for any number of patients.
--
-- Readiness (the gaps a desk chases before or at check-in: intake forms,
-- insurance, a balance due, an interpreter) was four round trips per
-- patient in C. The board's look ahead asks it for every patient expected
-- in the next hours: 80 patients at a busy location made a board refresh
-- 300-odd round trips and 13-20 ms of database time, on every desk's
-- refresh. Here it is one set-returning function, the one definition the
-- Readiness call, check-in and the board share (so they never disagree).
--
-- Rows: one per gap, in the order the desk shows them within a patient:
-- required forms in use (patient_form_states(), by code: form_missing, form_outdated,
-- form_expired), then each active policy (by priority: insurance_expired,
-- insurance_not_verified), then insurance_missing, balance_due,
-- interpreter_needed. `ord` orders a patient's rows. Unknown ids give no
-- rows; whether a patient exists or was merged is the caller's question.
-- Balances are read from patient_balances (0005) directly, for all the
-- patients at once.

-- What a patient owes. 0002 looked patient_balances up by name with a
-- dynamic EXECUTE (it ran before 0005 made the view), planned again on
-- every call: 130 us, on every check-in, payment and receipt. The view
-- exists now, so the statement is static and PL/pgSQL keeps its plan
-- (12 us). Same answers; NULL no longer happens (balance_checked).
CREATE OR REPLACE FUNCTION patient_balance_due(pid bigint) RETURNS bigint
LANGUAGE plpgsql STABLE AS $$
BEGIN
  RETURN (SELECT coalesce(sum(b.balance_cents), 0)::bigint
            FROM patient_balances b WHERE b.patient_id = pid);
END
$$;

-- The version of each form in use today: the latest version whose dates
-- cover today. One definition for the desk's form list, completing a
-- form, and form states below.
CREATE VIEW intake_forms_in_use AS
  SELECT DISTINCT ON (f.code) f.*
    FROM intake_forms f
   WHERE f.in_use_from <= current_date
     AND (f.in_use_until IS NULL OR f.in_use_until >= current_date)
   ORDER BY f.code, f.version DESC;

-- Each form in use today (its latest version) against each patient's latest
-- completion of any of its versions: missing, outdated_version, expired
-- (by the validity of the version completed) or complete. The one
-- definition of a form's state, for IntakeStatus (server/handlers/
-- patients_intake.c) and readiness below. A single SELECT in SQL, so
-- PostgreSQL inlines it into the calling statement and keeps that
-- statement's plan.
CREATE FUNCTION patient_form_states(pids bigint[])
RETURNS TABLE (patient_id bigint, form_id bigint, code text, required boolean, state text,
               completion_id bigint, completed_at timestamptz, completed_version integer,
               expires_at timestamptz)
LANGUAGE sql STABLE AS $$
  WITH cur AS (SELECT u.id, u.code, u.version, u.required FROM intake_forms_in_use u),
  last AS (
    SELECT DISTINCT ON (c.patient_id, f.code) c.patient_id, f.code, c.id, c.completed_at,
           f.version, f.valid_days
      FROM intake_completions c
      JOIN intake_forms f ON f.id = c.form_id
     WHERE c.patient_id = ANY (pids)
     ORDER BY c.patient_id, f.code, c.completed_at DESC, c.id DESC)
  SELECT p.id, cur.id, cur.code, cur.required,
         CASE WHEN last.id IS NULL THEN 'missing'
              WHEN last.version < cur.version THEN 'outdated_version'
              WHEN last.valid_days IS NOT NULL
               AND last.completed_at + last.valid_days * interval '1 day' < now()
              THEN 'expired' ELSE 'complete' END,
         last.id, last.completed_at, last.version,
         last.completed_at + last.valid_days * interval '1 day'
    FROM (SELECT DISTINCT unnest(pids)) p(id)
   CROSS JOIN cur
    LEFT JOIN last ON last.patient_id = p.id AND last.code = cur.code
$$;

CREATE FUNCTION patient_readiness_gaps(pids bigint[], verified_within_days integer)
RETURNS TABLE (patient_id bigint, ord integer, kind text, detail text)
-- PL/pgSQL with a generic plan, kept for the session: as a SQL function
-- (not inlinable with these CTEs) the statement was planned again on every
-- call, and PL/pgSQL's own choice stayed with custom plans (the array
-- defeats its estimate): 1 ms of planning for 0.25 ms of work on one
-- patient. The generic plan runs one patient in 0.15 ms and the 70 a busy
-- location expects in four hours in 1.2 ms.
LANGUAGE plpgsql STABLE
SET plan_cache_mode = force_generic_plan
AS $$
#variable_conflict use_column
BEGIN
  RETURN QUERY
  WITH pat AS (
    SELECT pa.id, pa.interpreter_needed, coalesce(pa.preferred_language, '') AS language
      FROM patients pa
     WHERE pa.id = ANY (pids)),
  forms AS (
    SELECT fs.patient_id AS id,
           row_number() OVER (PARTITION BY fs.patient_id ORDER BY fs.code)::integer AS n,
           CASE fs.state WHEN 'missing' THEN 'form_missing'
                         WHEN 'outdated_version' THEN 'form_outdated'
                         WHEN 'expired' THEN 'form_expired' END AS kind,
           fs.code AS detail
      FROM patient_form_states(pids) fs
      JOIN pat ON pat.id = fs.patient_id
     WHERE fs.required),
  pol AS (
    SELECT ip.patient_id AS id, ip.priority,
           row_number() OVER (PARTITION BY ip.patient_id
                              ORDER BY array_position(ARRAY['primary','secondary','tertiary'],
                                                      ip.priority), ip.id)::integer AS n,
           ip.effective_until IS NOT NULL AND ip.effective_until < current_date AS expired,
           ip.effective_from > current_date AS not_yet,
           ip.last_verified_at IS NULL
             OR ip.last_verified_at < now() - verified_within_days * interval '1 day' AS unverified
      FROM insurance_policies ip
     WHERE ip.patient_id = ANY (pids) AND ip.active),
  gaps AS (
    SELECT id, n AS ord, kind, detail FROM forms
    UNION ALL
    -- A policy starting later is no cover today, and no gap of its own.
    SELECT id, 1000 + n,
           CASE WHEN expired THEN 'insurance_expired'
                WHEN NOT not_yet AND unverified THEN 'insurance_not_verified' END,
           priority
      FROM pol
    UNION ALL
    SELECT pat.id, 2000, 'insurance_missing',
           CASE WHEN EXISTS (SELECT 1 FROM pol WHERE pol.id = pat.id)
                THEN 'no policy covers today' ELSE '' END
      FROM pat
     WHERE NOT EXISTS (SELECT 1 FROM pol WHERE pol.id = pat.id AND (pol.expired OR NOT pol.not_yet))
    UNION ALL
    SELECT b.patient_id, 3000, 'balance_due', b.due::text
      FROM (SELECT pb.patient_id, sum(pb.balance_cents)::bigint AS due
              FROM patient_balances pb
             WHERE pb.patient_id = ANY (pids)
             GROUP BY pb.patient_id) b
     WHERE b.due > 0
    UNION ALL
    SELECT pat.id, 4000, 'interpreter_needed', pat.language
      FROM pat
     WHERE pat.interpreter_needed)
  SELECT gaps.id, gaps.ord, gaps.kind, gaps.detail FROM gaps WHERE gaps.kind IS NOT NULL;
END
$$;
