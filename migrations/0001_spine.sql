-- The spine: locations, desks, staff, sessions, login throttling, stored
-- replies for idempotency, and the append-only audit log. Later migrations
-- build the clinic's features on these tables.

CREATE EXTENSION IF NOT EXISTS btree_gist;
CREATE EXTENSION IF NOT EXISTS pg_trgm;

-- A zone name is valid when PostgreSQL knows it; checked here so a typo in
-- an admin form cannot produce a location whose local times are undefined.
CREATE FUNCTION is_valid_time_zone(zone text) RETURNS boolean
LANGUAGE sql STABLE AS $$
  SELECT EXISTS (SELECT 1 FROM pg_timezone_names WHERE name = zone)
$$;

CREATE TABLE locations (
  id         bigserial PRIMARY KEY,
  code       text NOT NULL UNIQUE CHECK (code ~ '^[a-z0-9][a-z0-9-]{0,31}$'),
  name       text NOT NULL CHECK (length(name) BETWEEN 1 AND 200),
  time_zone  text NOT NULL CHECK (is_valid_time_zone(time_zone)),
  created_at timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE desks (
  id          bigserial PRIMARY KEY,
  code        text NOT NULL UNIQUE CHECK (code ~ '^[a-z0-9][a-z0-9._-]{0,31}$'),
  name        text NOT NULL CHECK (length(name) BETWEEN 1 AND 200),
  location_id bigint NOT NULL REFERENCES locations (id),
  active      boolean NOT NULL DEFAULT true,
  created_at  timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE staff (
  id            bigserial PRIMARY KEY,
  username      text NOT NULL UNIQUE CHECK (username ~ '^[a-z0-9][a-z0-9._-]{0,63}$'),
  display_name  text NOT NULL CHECK (length(display_name) BETWEEN 1 AND 200),
  password_hash text NOT NULL CHECK (password_hash LIKE '$argon2id$%'),
  roles         text[] NOT NULL CHECK (cardinality(roles) >= 1 AND
                  roles <@ ARRAY['admin','front_desk','billing','nurse','provider']),
  active        boolean NOT NULL DEFAULT true,
  created_at    timestamptz NOT NULL DEFAULT now(),
  updated_at    timestamptz NOT NULL DEFAULT now()
);

-- Failed logins are counted per typed user name, whether or not the account
-- exists, so the lockout behaves the same for both and reveals nothing.
CREATE TABLE login_failures (
  username        text PRIMARY KEY,
  failures        integer NOT NULL DEFAULT 0 CHECK (failures >= 0),
  last_failure_at timestamptz NOT NULL DEFAULT now(),
  locked_until    timestamptz
);

-- A session token is stored only as its SHA-256: a database dump does not
-- hand out live sessions.
CREATE TABLE sessions (
  id           bigserial PRIMARY KEY,
  token_hash   bytea NOT NULL UNIQUE CHECK (length(token_hash) = 32),
  staff_id     bigint NOT NULL REFERENCES staff (id),
  desk_id      bigint NOT NULL REFERENCES desks (id),
  created_at   timestamptz NOT NULL DEFAULT now(),
  last_seen_at timestamptz NOT NULL DEFAULT now(),
  expires_at   timestamptz NOT NULL,
  ended_at     timestamptz,
  end_reason   text CHECK (end_reason IN ('logout', 'idle', 'expired', 'revoked')),
  CHECK (expires_at > created_at),
  CHECK ((ended_at IS NULL) = (end_reason IS NULL))
);
CREATE INDEX sessions_staff_idx ON sessions (staff_id) WHERE ended_at IS NULL;

-- The first reply to each mutating request, so a resend with the same
-- request id gets it back instead of acting twice.
CREATE TABLE idempotent_replies (
  request_id bytea PRIMARY KEY CHECK (length(request_id) = 16),
  method     text NOT NULL,
  staff_id   bigint REFERENCES staff (id),
  reply      bytea,
  created_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX idempotent_replies_created_idx ON idempotent_replies (created_at);

-- Who touched what, when, from which desk. Append-only: the triggers below
-- refuse UPDATE, DELETE and TRUNCATE for every role, the owner included.
CREATE TABLE audit_log (
  id         bigserial PRIMARY KEY,
  at         timestamptz NOT NULL DEFAULT now(),
  staff_id   bigint REFERENCES staff (id),
  desk_id    bigint REFERENCES desks (id),
  method     text NOT NULL,
  patient_id bigint,
  subject    text,
  outcome    text NOT NULL,
  request_id bytea
);
CREATE INDEX audit_log_patient_idx ON audit_log (patient_id, at) WHERE patient_id IS NOT NULL;

CREATE FUNCTION audit_log_refuse_change() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
  RAISE EXCEPTION 'audit_log is append-only' USING ERRCODE = 'insufficient_privilege';
END
$$;
CREATE TRIGGER audit_log_no_update BEFORE UPDATE OR DELETE ON audit_log
  FOR EACH ROW EXECUTE FUNCTION audit_log_refuse_change();
CREATE TRIGGER audit_log_no_truncate BEFORE TRUNCATE ON audit_log
  FOR EACH STATEMENT EXECUTE FUNCTION audit_log_refuse_change();
