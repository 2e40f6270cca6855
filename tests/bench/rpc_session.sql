-- pgbench: the dispatcher's statements at the start of every call, after
-- BEGIN: the statement timeout and the session check (server/dispatch.c,
-- server/auth.c), which also names who is acting for the history
-- triggers. tests/bench/run.sh puts this in place of the line
-- "-- @session-check" in each rpc_*.sql, so the five scripts keep one copy.
-- Needs :desk (each client its own bench-desk-<n> session); sets
-- :session_id, :staff_id, :desk_id and the rest by \gset.
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
