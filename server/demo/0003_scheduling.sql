-- Demo scheduling data for `make run`: three providers at location 'main',
-- the clinic's appointment types, rooms and equipment, weekday hours from
-- this week's Monday on, a holiday ten days from now, and a realistic day
-- of appointments today. Idempotent: a second run adds nothing.

INSERT INTO providers (code, staff_id, display_name, specialties)
SELECT v.code, (SELECT id FROM staff WHERE username = v.username), v.name, v.specialties
  FROM (VALUES ('smith', 'drsmith', 'Dr. Jane Smith', '{family_medicine}'::text[]),
               ('lee', NULL, 'Dr. Kim Lee', '{pediatrics,family_medicine}'::text[]),
               ('okafor', 'nurse1', 'Nadia Okafor, RN', '{nursing}'::text[])) v(code, username, name, specialties)
ON CONFLICT (code) DO NOTHING;

INSERT INTO provider_locations (provider_id, location_id)
SELECT p.id, l.id FROM providers p, locations l
 WHERE p.code IN ('smith', 'lee', 'okafor') AND l.code = 'main'
ON CONFLICT DO NOTHING;

INSERT INTO appointment_types (code, name, duration_min, buffer_before_min, buffer_after_min,
                               resource_kinds, min_notice_min, horizon_days, per_day_limit,
                               grid_min, color)
VALUES ('checkup', 'Check-up', 20, 0, 0, '{exam_room}', 60, 90, NULL, 20, '#4a90d9'),
       ('consult', 'Consultation', 30, 0, 0, '{exam_room}', 60, 90, NULL, 15, '#7b61ff'),
       ('new-patient', 'New patient visit', 45, 0, 10, '{exam_room}', 120, 120, 4, 15, '#2bb673'),
       ('follow-up', 'Follow-up', 15, 0, 0, '{}', 0, 60, NULL, 15, '#f5a623'),
       ('procedure', 'Procedure', 60, 15, 15, '{procedure_room}', 1440, 120, 3, 30, '#d0021b'),
       ('surgery', 'Minor surgery', 120, 30, 30, '{operating_room}', 2880, 180, 2, 30, '#8b572a'),
       ('ultrasound', 'Ultrasound', 30, 0, 5, '{exam_room,ultrasound}', 120, 90, NULL, 15, '#50e3c2'),
       ('telehealth', 'Telehealth call', 20, 0, 0, '{}', 30, 60, NULL, 10, '#9b9b9b')
ON CONFLICT (code) DO NOTHING;

INSERT INTO provider_types (provider_id, type_id)
SELECT p.id, t.id FROM providers p, appointment_types t
 WHERE (p.code IN ('smith', 'lee') AND t.code <> 'follow-up')
    OR (p.code = 'okafor' AND t.code IN ('follow-up', 'checkup', 'telehealth'))
ON CONFLICT DO NOTHING;

INSERT INTO resources (location_id, code, name, kind)
SELECT l.id, v.code, v.name, v.kind FROM locations l,
  (VALUES ('exam-1', 'Exam room 1', 'exam_room'), ('exam-2', 'Exam room 2', 'exam_room'),
          ('exam-3', 'Exam room 3', 'exam_room'), ('proc-1', 'Procedure room', 'procedure_room'),
          ('or-1', 'Operating room', 'operating_room'), ('us-1', 'Ultrasound unit', 'ultrasound')) v(code, name, kind)
 WHERE l.code = 'main'
ON CONFLICT (code) DO NOTHING;

-- Weekday hours from this week's Monday (local): morning and afternoon.
INSERT INTO availability_templates (provider_id, location_id, weekday, start_time, end_time, effective_from)
SELECT p.id, l.id, d, h.s, h.e,
       date_trunc('week', now() AT TIME ZONE l.time_zone)::date
  FROM providers p, locations l, generate_series(1, 5) d,
       (VALUES (time '08:00', time '12:00'), (time '13:00', time '17:00')) h(s, e)
 WHERE p.code IN ('smith', 'lee', 'okafor') AND l.code = 'main'
   AND NOT EXISTS (SELECT 1 FROM availability_templates w WHERE w.provider_id = p.id);

INSERT INTO holidays (location_id, day, name)
SELECT l.id, (now() AT TIME ZONE l.time_zone)::date + 10, 'Staff training day'
  FROM locations l WHERE l.code = 'main'
ON CONFLICT DO NOTHING;

-- A few demo patients when the clinic has none yet.
INSERT INTO patients (family_name, given_name, date_of_birth, phone_e164)
SELECT v.f, v.g, v.d::date, v.ph
  FROM (VALUES ('Garcia', 'Maria', '1984-03-12', '+12125550101'),
               ('Nguyen', 'Thanh', '1975-11-02', '+12125550102'),
               ('Johnson', 'Emily', '2016-06-21', '+12125550103'),
               ('Okoye', 'Chidi', '1990-01-30', '+12125550104'),
               ('Schmidt', 'Lukas', '1958-09-09', '+12125550105'),
               ('Rossi', 'Giulia', '2001-12-24', '+12125550106')) v(f, g, d, ph)
 WHERE NOT EXISTS (SELECT 1 FROM patients);

-- Today's schedule for Dr. Smith and Dr. Lee: the morning already seen,
-- the afternoon still booked. Written directly (the booking rules such as
-- minimum notice would refuse past times); once per day.
WITH l AS (SELECT id, time_zone FROM locations WHERE code = 'main'),
plan AS (
  SELECT * FROM (VALUES
    ('smith', 'checkup',     '08:00', 'completed', 1),
    ('smith', 'consult',     '08:40', 'completed', 2),
    ('smith', 'new-patient', '09:30', 'in_room',   3),
    ('smith', 'checkup',     '13:00', 'confirmed', 4),
    ('smith', 'consult',     '14:00', 'booked',    5),
    ('smith', 'ultrasound',  '15:30', 'booked',    6),
    ('lee',   'checkup',     '08:20', 'no_show',   5),
    ('lee',   'consult',     '09:00', 'arrived',   6),
    ('lee',   'checkup',     '13:40', 'booked',    1),
    ('lee',   'consult',     '16:00', 'booked',    2)) v(provider, type, at, status, nth)
),
pts AS (SELECT id, row_number() OVER (ORDER BY id) AS nth FROM patients)
INSERT INTO appointments (patient_id, provider_id, location_id, type_id, starts_at, ends_at,
                          blocked_from, blocked_until, status, reason)
SELECT pts.id, p.id, l.id, t.id, s.at, s.at + make_interval(mins => t.duration_min),
       s.at - make_interval(mins => t.buffer_before_min),
       s.at + make_interval(mins => t.duration_min + t.buffer_after_min),
       plan.status, 'demo visit'
  FROM plan JOIN providers p ON p.code = plan.provider
  JOIN appointment_types t ON t.code = plan.type
  CROSS JOIN l
  JOIN pts ON pts.nth = 1 + (plan.nth - 1) % (SELECT count(*) FROM pts)
  CROSS JOIN LATERAL (SELECT (((now() AT TIME ZONE l.time_zone)::date + plan.at::time)
                              AT TIME ZONE l.time_zone) AS at) s
 WHERE NOT EXISTS (SELECT 1 FROM appointments a
                    WHERE a.provider_id IN (SELECT id FROM providers WHERE code IN ('smith', 'lee'))
                      AND (a.starts_at AT TIME ZONE l.time_zone)::date
                          = (now() AT TIME ZONE l.time_zone)::date);

INSERT INTO appointment_resources (appointment_id, resource_id, blocked_from, blocked_until, active)
SELECT a.id, r.id, a.blocked_from, a.blocked_until, appointment_status_active(a.status)
  FROM appointments a JOIN providers p ON p.id = a.provider_id
  JOIN appointment_types t ON t.id = a.type_id
  CROSS JOIN LATERAL unnest(t.resource_kinds) k(kind)
  JOIN resources r ON r.code = CASE k.kind WHEN 'ultrasound' THEN 'us-1'
                                 WHEN 'exam_room' THEN CASE p.code WHEN 'smith' THEN 'exam-1' ELSE 'exam-2' END
                               END
 WHERE a.reason = 'demo visit'
   AND NOT EXISTS (SELECT 1 FROM appointment_resources x WHERE x.appointment_id = a.id);

-- Three patients on the waitlist for an earlier consultation (one urgent,
-- one only for Dr. Smith in the mornings), so cancelling a consultation in
-- the demo shows an offer at once.
WITH l AS (SELECT id FROM locations WHERE code = 'main'),
wish(nth, provider, weekdays, tod, priority, note) AS (VALUES
    (11, NULL,    '{}'::integer[],  'any',     1, 'demo: pain getting worse'),
    (12, 'smith', '{}'::integer[],  'morning', 3, 'demo: prefers Dr. Smith'),
    (13, NULL,    '{2,4}'::integer[], 'afternoon', 3, 'demo: Tuesdays or Thursdays after school')),
pts AS (SELECT id, row_number() OVER (ORDER BY id) AS nth FROM patients)
INSERT INTO waitlist_entries (patient_id, type_id, location_id, provider_id, weekdays,
                              time_of_day, priority, note)
SELECT pts.id, t.id, l.id, p.id, wish.weekdays, wish.tod, wish.priority, wish.note
  FROM wish JOIN pts ON pts.nth = wish.nth
  JOIN appointment_types t ON t.code = 'consult'
  CROSS JOIN l
  LEFT JOIN providers p ON p.code = wish.provider
 WHERE NOT EXISTS (SELECT 1 FROM waitlist_entries w WHERE w.note LIKE 'demo:%');
