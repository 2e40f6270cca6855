-- Demo patients for `make run`: 300 people with names in several scripts,
-- insurance in every state readiness knows (current and verified, never
-- verified, verified too long ago, expired, none), intake forms complete,
-- expired, outdated or missing, a few needing an interpreter, and some
-- immunizations and refill requests in the queue. Idempotent: demo rows
-- have fixed MRNs (DEMO0001...) and everything else is added only for demo
-- patients that do not have it yet.

INSERT INTO intake_forms (code, version, title, valid_days, required, in_use_from, questions)
VALUES
  ('demographics', 1, 'Demographics confirmation', 365, true, DATE '2020-01-01',
   '[{"id":"address_current","text":"Is your address current?","type":"yes_no"}]'),
  ('medical-history', 1, 'Medical history', 365, true, DATE '2020-01-01',
   '[{"id":"conditions","text":"Conditions you are treated for","type":"text"}]'),
  ('current-medications', 1, 'Current medications', 180, true, DATE '2020-01-01',
   '[{"id":"medications","text":"Medications you take","type":"text"}]'),
  ('allergies', 1, 'Allergies', 365, true, DATE '2020-01-01',
   '[{"id":"allergies","text":"Allergies","type":"text"}]'),
  ('privacy-notice', 1, 'Privacy notice acknowledgment', NULL, true, DATE '2020-01-01',
   '[{"id":"acknowledged","text":"I received the privacy notice","type":"yes_no"}]'),
  ('consent-to-treat', 1, 'Consent to treat', 365, true, DATE '2020-01-01',
   '[{"id":"consent","text":"I consent to treatment","type":"signature"}]'),
  ('financial-policy', 1, 'Financial policy', 365, true, DATE '2020-01-01',
   '[{"id":"accepted","text":"I accept the financial policy","type":"signature"}]')
ON CONFLICT (code, version) DO NOTHING;

INSERT INTO patients (mrn, given_name, family_name, preferred_name, date_of_birth,
                      sex_at_birth, phone_e164, email, address, preferred_language,
                      interpreter_needed, consent_sms, consent_voice, consent_email)
SELECT 'DEMO' || lpad(i::text, 4, '0'),
       (ARRAY['John','Maria','José','Aisha','Wei','Olga','Liam','Fatima','Hiroshi',
              'Chloé','Mateo','Priya','Kwame','Sofia','Dmitri','Lan','Seán','Amara',
              'Yusuf','Ingrid'])[1 + i % 20],
       (ARRAY['Smith','García','O''Brien','Nguyễn','李','Kowalski','Okafor','Müller',
              'Haddad','Tanaka','Johnson','Rossi','Fernández','Ivanova','Brown','Chen',
              'Singh','Dubois','Andersen','Mensah','Williams','Lopez','Kim','Novak',
              'Murphy'])[1 + (i * 7) % 25],
       CASE WHEN i % 9 = 0 THEN 'Sam' END,
       DATE '1935-01-01' + (i * 97) % 31000,
       (ARRAY['female','male','female','male','intersex','unknown'])[1 + i % 6],
       '+1555' || lpad((2000000 + i)::text, 7, '0'),
       CASE WHEN i % 3 = 0 THEN 'demo' || i || '@example.org' END,
       i || ' Main Street, Springfield',
       CASE WHEN i % 17 = 0 THEN (ARRAY['es','vi','zh','ar'])[1 + i % 4] ELSE 'en' END,
       i % 17 = 0, i % 2 = 0, true, i % 3 = 0
FROM generate_series(1, 300) AS i
ON CONFLICT (mrn) DO NOTHING;

-- Forms: a quarter have none, one in seven completed over a year ago
-- (expired), the rest recently.
INSERT INTO intake_completions (patient_id, form_id, completed_at, recorded_by, answers)
SELECT p.id, f.id,
       now() - ((CASE WHEN n % 7 = 0 THEN 400 ELSE 0 END) + n % 90) * interval '1 day',
       (SELECT id FROM staff WHERE username = 'reception1'), '{}'
FROM (SELECT id, substr(mrn, 5)::int AS n FROM patients WHERE mrn LIKE 'DEMO%') p
JOIN intake_forms f ON f.version = 1
WHERE p.n % 4 <> 0
  AND NOT EXISTS (SELECT 1 FROM intake_completions c WHERE c.patient_id = p.id);

-- Insurance: 70% have a primary policy; of those some expired, some never
-- verified, some verified long ago; every fifteenth has a secondary too.
INSERT INTO insurance_policies (patient_id, payer, plan, member_id, group_number,
                                subscriber_relationship, priority, effective_from,
                                effective_until, last_verified_at, last_verified_by)
SELECT p.id,
       (ARRAY['Blue Shield','Aetna','UnitedHealthcare','Cigna','Medicare'])[1 + p.n % 5],
       (ARRAY['PPO','HMO','EPO','Part B'])[1 + p.n % 4],
       'M' || lpad((p.n * 7919)::text, 9, '0'), 'G' || (100 + p.n % 40),
       CASE WHEN p.n % 8 = 0 THEN 'spouse' ELSE 'self' END, 'primary', DATE '2020-01-01',
       CASE WHEN p.n % 10 = 6 THEN current_date - 30 END,
       CASE WHEN p.n % 3 = 0 THEN NULL ELSE now() - (p.n % 60) * interval '1 day' END,
       CASE WHEN p.n % 3 = 0 THEN NULL ELSE (SELECT id FROM staff WHERE username = 'reception1') END
FROM (SELECT id, substr(mrn, 5)::int AS n FROM patients WHERE mrn LIKE 'DEMO%') p
WHERE p.n % 10 < 7
  AND NOT EXISTS (SELECT 1 FROM insurance_policies i WHERE i.patient_id = p.id);

INSERT INTO insurance_policies (patient_id, payer, member_id, priority, effective_from)
SELECT p.id, 'Medicaid', 'S' || lpad((p.n * 31)::text, 8, '0'), 'secondary', DATE '2022-01-01'
FROM (SELECT id, substr(mrn, 5)::int AS n FROM patients WHERE mrn LIKE 'DEMO%') p
WHERE p.n % 15 = 0 AND p.n % 10 < 7
  AND NOT EXISTS (SELECT 1 FROM insurance_policies i
                  WHERE i.patient_id = p.id AND i.priority = 'secondary');

INSERT INTO insurance_copays (policy_id, visit_type, copay_cents)
SELECT i.id, v.visit_type, v.cents + (i.id % 3) * 500
FROM insurance_policies i
JOIN patients p ON p.id = i.patient_id AND p.mrn LIKE 'DEMO%'
CROSS JOIN (VALUES ('new', 4000), ('follow-up', 2500), ('annual', 0)) AS v(visit_type, cents)
WHERE i.priority = 'primary'
ON CONFLICT (policy_id, visit_type) DO NOTHING;

INSERT INTO immunizations (patient_id, cvx_code, vaccine_name, administered_on, lot_number,
                           site, source, entered_by)
SELECT p.id, v.cvx, v.name, current_date - (p.n * 11 % 700) - v.ago, 'LOT' || (1000 + p.n),
       'left deltoid', CASE WHEN p.n % 2 = 0 THEN 'administered' ELSE 'historical' END,
       (SELECT id FROM staff WHERE username = 'nurse1')
FROM (SELECT id, substr(mrn, 5)::int AS n FROM patients WHERE mrn LIKE 'DEMO%') p
CROSS JOIN (VALUES ('141', 'Influenza, seasonal', 0), ('213', 'COVID-19', 200),
                   ('115', 'Tdap', 900)) AS v(cvx, name, ago)
WHERE p.n % 5 = 0
  AND NOT EXISTS (SELECT 1 FROM immunizations m WHERE m.patient_id = p.id);

WITH new_refills AS (
  INSERT INTO refill_requests (patient_id, medication, pharmacy, requested_by, channel,
                               status, created_by)
  SELECT p.id, (ARRAY['Lisinopril 10 mg','Metformin 500 mg','Atorvastatin 20 mg',
                      'Levothyroxine 50 mcg'])[1 + p.n % 4],
         'Main Street Pharmacy', 'patient', CASE WHEN p.n % 2 = 0 THEN 'phone' ELSE 'desk' END,
         'new', (SELECT id FROM staff WHERE username = 'reception1')
  FROM (SELECT id, substr(mrn, 5)::int AS n FROM patients WHERE mrn LIKE 'DEMO%') p
  WHERE p.n % 12 = 0
    AND NOT EXISTS (SELECT 1 FROM refill_requests r WHERE r.patient_id = p.id)
  RETURNING id, created_by)
INSERT INTO refill_request_steps (refill_id, status, staff_id, note)
SELECT id, 'new', created_by, 'taken at the desk' FROM new_refills;
