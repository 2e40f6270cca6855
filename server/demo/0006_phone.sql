-- Demo care teams for `make run`: Dr. Smith and Nurse Okafor share the
-- family-medicine nurses (queue 'nurses'); Dr. Lee's pediatric team has
-- its own nurse line (queue 'peds-nurses', answered by nurse1). On the
-- nurse line a caller who is a patient of one of them reaches their team's
-- nurses; everyone else reaches the general nurse queue. Idempotent.
INSERT INTO phone_queues (code, name, location_id, strategy, wrap_up_s, max_wait_s, overflow)
SELECT 'peds-nurses', 'Pediatric nurse line', l.id, 'ring_all', 30, 300, 'message'
  FROM locations l WHERE l.code = 'main'
ON CONFLICT (code) DO NOTHING;

INSERT INTO phone_queue_members (queue_id, staff_id, penalty, position)
SELECT q.id, s.id, 0, 1 FROM phone_queues q, staff s
 WHERE q.code = 'peds-nurses' AND s.username = 'nurse1'
ON CONFLICT DO NOTHING;

INSERT INTO phone_care_teams (code, name, nurse_queue_id)
SELECT v.code, v.name, q.id
  FROM (VALUES ('family-team', 'Family medicine', 'nurses'),
               ('peds-team', 'Pediatrics', 'peds-nurses')) AS v(code, name, queue)
  JOIN phone_queues q ON q.code = v.queue
ON CONFLICT (code) DO NOTHING;

INSERT INTO phone_care_team_providers (provider_id, team_id)
SELECT p.id, t.id
  FROM (VALUES ('smith', 'family-team'), ('okafor', 'family-team'), ('lee', 'peds-team'))
       AS v(provider, team)
  JOIN providers p ON p.code = v.provider JOIN phone_care_teams t ON t.code = v.team
ON CONFLICT (provider_id) DO NOTHING;

-- After the time rules (10-40): the nurse line first tries the caller's
-- care team, then the general nurses.
INSERT INTO phone_rules (name, priority, line_id, condition, action, queue_id)
SELECT v.name, v.priority, l.id, v.condition, v.action, q.id
  FROM (VALUES ('nurse-line-care-team', 45, 'caller_care_team', 'care_team_queue', NULL),
               ('nurse-line', 46, 'always', 'queue', 'nurses'))
       AS v(name, priority, condition, action, queue)
  JOIN phone_lines l ON l.code = 'nurse'
  LEFT JOIN phone_queues q ON q.code = v.queue
ON CONFLICT DO NOTHING;
