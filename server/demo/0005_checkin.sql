-- Demo check-in data for `make run`: today's appointments at 'main' that
-- scheduling's demo marks arrived, checked in or in a room get their
-- visits (the one in a room is in its exam room with its provider and has
-- paid its copay by card), so the waiting-room board is alive at once.
-- Idempotent: a second run adds nothing.

SELECT set_config('frontdesk.staff_id', (SELECT id FROM staff WHERE username = 'reception1')::text, true),
       set_config('frontdesk.desk_id', (SELECT id FROM desks WHERE code = 'front-1')::text, true),
       set_config('frontdesk.reason', 'demo', true);

-- Copays for scheduling's visit types on the demo primary policies, so the
-- expected copay shows at check-in.
INSERT INTO insurance_copays (policy_id, visit_type, copay_cents)
SELECT ip.id, v.code, v.cents
  FROM insurance_policies ip
 CROSS JOIN (VALUES ('checkup', 2500), ('consult', 3000), ('new-patient', 4000),
                    ('follow-up', 2000), ('ultrasound', 5000)) v(code, cents)
 WHERE ip.priority = 'primary' AND ip.active
ON CONFLICT (policy_id, visit_type) DO NOTHING;

INSERT INTO visits (patient_id, appointment_id, location_id, provider_id, type_id, status,
                    status_since, arrived_at, arrival_offset_min, walk_in, expected_copay_cents,
                    checked_in_by, checked_in_desk)
SELECT DISTINCT ON (a.patient_id)
       a.patient_id, a.id, a.location_id, a.provider_id, a.type_id,
       CASE a.status WHEN 'arrived' THEN 'arrived' ELSE 'checked_in' END,
       least(now(), a.starts_at - interval '10 min'), least(now(), a.starts_at - interval '10 min'),
       round(extract(epoch FROM least(now(), a.starts_at - interval '10 min') - a.starts_at) / 60)::int,
       false, expected_copay_cents(a.patient_id, t.code),
       (SELECT id FROM staff WHERE username = 'reception1'), (SELECT id FROM desks WHERE code = 'front-1')
  FROM appointments a JOIN locations l ON l.id = a.location_id
  JOIN appointment_types t ON t.id = a.type_id
 WHERE l.code = 'main' AND a.status IN ('arrived', 'checked_in', 'in_room')
   AND (a.starts_at AT TIME ZONE l.time_zone)::date = (now() AT TIME ZONE l.time_zone)::date
   AND NOT EXISTS (SELECT 1 FROM visits v WHERE v.appointment_id = a.id)
   AND NOT EXISTS (SELECT 1 FROM visits v WHERE v.patient_id = a.patient_id
                     AND visit_status_open(v.status))
 ORDER BY a.patient_id, a.starts_at;

-- The patient whose appointment is in a room: in the appointment's room
-- (when no one else is in it) with the appointment's provider.
UPDATE visits v SET status = 'in_room', room_id = ar.resource_id
  FROM appointments a JOIN appointment_resources ar ON ar.appointment_id = a.id
  JOIN resources r ON r.id = ar.resource_id AND r.kind = 'exam_room'
 WHERE v.appointment_id = a.id AND a.status = 'in_room' AND v.status = 'checked_in'
   AND NOT EXISTS (SELECT 1 FROM visits o WHERE o.room_id = ar.resource_id
                     AND o.status IN ('in_room', 'with_provider'));

INSERT INTO payments (visit_id, patient_id, amount_cents, method, note, received_by, desk_id)
SELECT v.id, v.patient_id, v.expected_copay_cents, 'card', 'demo copay',
       (SELECT id FROM staff WHERE username = 'reception1'), (SELECT id FROM desks WHERE code = 'front-1')
  FROM visits v JOIN locations l ON l.id = v.location_id
 WHERE l.code = 'main' AND v.status = 'in_room' AND v.expected_copay_cents > 0
   AND NOT EXISTS (SELECT 1 FROM payments y WHERE y.visit_id = v.id);

-- Two walk-ins waiting to be seen, one of them long enough to be flagged.
INSERT INTO visits (patient_id, location_id, type_id, status, status_since, arrived_at,
                    walk_in, expected_copay_cents, checked_in_by, checked_in_desk)
SELECT p.id, l.id, t.id, 'checked_in', now() - make_interval(mins => w.waited),
       now() - make_interval(mins => w.waited), true, expected_copay_cents(p.id, t.code),
       (SELECT id FROM staff WHERE username = 'reception2'), (SELECT id FROM desks WHERE code = 'front-2')
  FROM (VALUES (1, 25), (2, 4)) w(nth, waited)
  JOIN LATERAL (SELECT id FROM patients pa
                 WHERE pa.merged_into IS NULL
                   AND NOT EXISTS (SELECT 1 FROM visits v WHERE v.patient_id = pa.id)
                   AND NOT EXISTS (SELECT 1 FROM appointments a WHERE a.patient_id = pa.id)
                 ORDER BY pa.id OFFSET w.nth - 1 LIMIT 1) p ON true
  CROSS JOIN locations l CROSS JOIN appointment_types t
 WHERE l.code = 'main' AND t.code = 'follow-up'
   AND NOT EXISTS (SELECT 1 FROM visits v WHERE v.walk_in);
