-- Demo phone setup for `make run`: lines, queues with members, extensions,
-- weekday hours with a lunch closure, a week of on-call nights, routing
-- rules ending in a fallback, and a few messages waiting. Idempotent.
INSERT INTO phone_queues (code, name, location_id, strategy, wrap_up_s, max_wait_s, overflow)
SELECT q.code, q.name, l.id, q.strategy, q.wrap, q.max_wait, q.overflow
  FROM locations l,
  (VALUES ('front', 'Front desk', 'ring_all', 10, 180, 'message'),
          ('nurses', 'Nurse line', 'round_robin', 30, 300, 'voicemail'),
          ('billing', 'Billing', 'linear', 15, 240, 'message')) AS q(code, name, strategy, wrap, max_wait, overflow)
 WHERE l.code = 'main'
ON CONFLICT (code) DO NOTHING;

INSERT INTO phone_lines (code, name, number_e164, location_id)
SELECT v.code, v.name, v.num, l.id FROM locations l,
  (VALUES ('main', 'Main number', '+15550100000'),
          ('nurse', 'Nurse line', '+15550100001'),
          ('refills', 'Pharmacy refills', '+15550100002')) AS v(code, name, num)
 WHERE l.code = 'main'
ON CONFLICT (code) DO NOTHING;

INSERT INTO phone_extensions (staff_id, extension)
SELECT s.id, v.ext FROM staff s JOIN (VALUES ('reception1', '201'), ('reception2', '202'),
  ('nurse1', '301'), ('billing1', '401'), ('drsmith', '501')) AS v(username, ext)
  ON v.username = s.username
ON CONFLICT DO NOTHING;

INSERT INTO phone_queue_members (queue_id, staff_id, penalty, position)
SELECT q.id, s.id, v.penalty, v.position FROM (VALUES
  ('front', 'reception1', 0, 1), ('front', 'reception2', 0, 2), ('front', 'nurse1', 1, 3),
  ('nurses', 'nurse1', 0, 1), ('billing', 'billing1', 0, 1), ('billing', 'reception2', 1, 2))
  AS v(queue, username, penalty, position)
  JOIN phone_queues q ON q.code = v.queue JOIN staff s ON s.username = v.username
ON CONFLICT DO NOTHING;

INSERT INTO phone_hours (location_id, weekday, opens, closes, lunch_starts, lunch_ends)
SELECT l.id, d, '08:00', '17:00', '12:00', '13:00' FROM locations l, generate_series(1, 5) d
 WHERE l.code = 'main'
ON CONFLICT DO NOTHING;

-- Dr. Smith is on call from 17:00 to 08:00 local for the coming week.
INSERT INTO phone_on_call (location_id, staff_id, number_e164, starts_at, ends_at)
SELECT l.id, s.id, '+15550109999',
       ((current_date + d) + time '17:00') AT TIME ZONE l.time_zone,
       ((current_date + d + 1) + time '08:00') AT TIME ZONE l.time_zone
  FROM locations l, staff s, generate_series(0, 6) d
 WHERE l.code = 'main' AND s.username = 'drsmith'
   AND NOT EXISTS (SELECT 1 FROM phone_on_call o WHERE o.location_id = l.id
                     AND o.ends_at > ((current_date + d) + time '17:00') AT TIME ZONE l.time_zone
                     AND o.starts_at < ((current_date + d + 1) + time '08:00') AT TIME ZONE l.time_zone);

INSERT INTO phone_listed_numbers (number_e164, name, queue_id)
SELECT '+15550107777', 'Main Street Pharmacy', id FROM phone_queues WHERE code = 'nurses'
ON CONFLICT DO NOTHING;

-- The fallback first (the rule set must always have one), then the rest.
INSERT INTO phone_rules (name, priority, condition, action, queue_id)
SELECT 'fallback-front-desk', 9000, 'always', 'queue', id FROM phone_queues WHERE code = 'front'
ON CONFLICT DO NOTHING;
INSERT INTO phone_rules (name, priority, condition, menu_choice, action, queue_id, voicemail_box)
SELECT v.name, v.priority, v.condition, v.menu, v.action, q.id, v.box
  FROM (VALUES ('closed-override', 10, 'override', NULL, 'voicemail', NULL, 'closed'),
               ('holiday-voicemail', 20, 'holiday', NULL, 'voicemail', NULL, 'holiday'),
               ('after-hours-on-call', 30, 'after_hours', NULL, 'on_call', NULL, NULL),
               ('after-hours-voicemail', 31, 'after_hours', NULL, 'voicemail', NULL, 'after-hours'),
               ('lunch-message', 40, 'lunch', NULL, 'message', 'front', NULL),
               ('pharmacies-to-nurses', 50, 'caller_listed', NULL, 'listed_queue', NULL, NULL),
               ('menu-refills', 60, 'menu', 'refills', 'queue', 'nurses', NULL),
               ('menu-nurse', 61, 'menu', 'nurse', 'queue', 'nurses', NULL),
               ('menu-billing', 62, 'menu', 'billing', 'queue', 'billing', NULL))
       AS v(name, priority, condition, menu, action, queue, box)
  LEFT JOIN phone_queues q ON q.code = v.queue
ON CONFLICT DO NOTHING;

INSERT INTO phone_messages (for_queue_id, caller_name, callback_e164, reason, urgency, place_at, callback_due_at)
SELECT q.id, v.caller, v.num, v.reason, v.urgency, now() - v.ago, now() + interval '1 hour'
  FROM (VALUES ('front', 'Maria Lopez', '+15550123456', 'wants to move Thursday appointment', 'routine', interval '40 minutes'),
               ('nurses', 'Sam Patel', '+15550123457', 'question about new prescription', 'urgent', interval '25 minutes'),
               ('billing', 'Jo Kim', '+15550123458', 'copay charged twice', 'routine', interval '10 minutes'))
       AS v(queue, caller, num, reason, urgency, ago)
  JOIN phone_queues q ON q.code = v.queue
 WHERE NOT EXISTS (SELECT 1 FROM phone_messages);
