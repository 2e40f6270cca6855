-- Audit rows hash-chained, and a least-privileged role for the server.
--
-- The chain. Every audit row gets a link in audit_chain:
--   hash(n) = sha256(hash(n-1) || audit_row_bytes(row n)), hash(0) = ''
-- in id order. Rows are inserted as before (no extra work and no lock for
-- an audited call); a sealer (the server's "audit-seal" periodic job, or
-- `frontdeskd audit seal`) links every row not yet linked, and
-- `frontdeskd audit verify` recomputes the chain and names the first row
-- that was changed, deleted, or slipped in below the sealed head.
--
-- Why two steps (audit_seal_horizon, then audit_seal): a row with a lower
-- id can commit after one with a higher id, so the sealer must not link
-- past a row still in flight. audit_seal_horizon() takes a lock that waits
-- for every transaction inserting into audit_log (SHARE ROW EXCLUSIVE
-- conflicts with INSERT's ROW EXCLUSIVE) and returns the highest id then
-- visible. Every id at or below it is final: ids come from a sequence in
-- order, and an insert holds its lock from before nextval until it ends.
-- Called alone (autocommit), the lock lasts only that statement, so
-- audited calls wait at most for the longest audited transaction already
-- running, never for the hashing, which audit_seal(horizon) does after.
--
-- The role. frontdesk_app (NOLOGIN) holds what the server needs and no
-- more: it may read and add audit rows and links, never change or remove
-- them, and may not touch schema_migrations. The server switches its worker
-- connections to it (`db_role`, default frontdesk_app); migrations and the
-- admin commands keep running as the connecting user, who owns the schema.

-- Roles are cluster-wide: another database of the same cluster may have
-- made it already, possibly at this very moment (hence the handler).
DO $$
BEGIN
  IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'frontdesk_app') THEN
    BEGIN
      CREATE ROLE frontdesk_app NOLOGIN;
    EXCEPTION WHEN duplicate_object OR unique_violation THEN
      NULL;
    END;
  END IF;
  -- A non-superuser owner must be a member to SET ROLE to it.
  IF NOT (SELECT rolsuper FROM pg_roles WHERE rolname = current_user)
     AND NOT pg_has_role(current_user, 'frontdesk_app', 'MEMBER') THEN
    EXECUTE format('GRANT frontdesk_app TO %I', current_user);
  END IF;
END
$$;

-- One link per audit row. No foreign key on purpose: a link whose row has
-- gone is the evidence that it was deleted.
CREATE TABLE audit_chain (
  audit_id  bigint PRIMARY KEY,
  hash      bytea NOT NULL,
  sealed_at timestamptz NOT NULL DEFAULT now()
);

CREATE FUNCTION audit_chain_refuse_change() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
  RAISE EXCEPTION 'audit_chain is append-only' USING ERRCODE = 'insufficient_privilege';
END
$$;
CREATE TRIGGER audit_chain_no_update BEFORE UPDATE OR DELETE ON audit_chain
  FOR EACH ROW EXECUTE FUNCTION audit_chain_refuse_change();
CREATE TRIGGER audit_chain_no_truncate BEFORE TRUNCATE ON audit_chain
  FOR EACH STATEMENT EXECUTE FUNCTION audit_chain_refuse_change();

-- A field as "length:text", or "-" for NULL: no value can be shifted into
-- its neighbour by putting a separator inside it.
CREATE FUNCTION audit_field(v text) RETURNS text
LANGUAGE sql IMMUTABLE AS $$
  SELECT CASE WHEN v IS NULL THEN '-' ELSE length(v)::text || ':' || v END
$$;

-- The canonical bytes of an audit row: every column, the time as
-- microseconds since the epoch (independent of the session's TimeZone and
-- DateStyle).
CREATE FUNCTION audit_row_bytes(a audit_log) RETURNS bytea
LANGUAGE sql IMMUTABLE AS $$
  SELECT convert_to(
    audit_field(a.id::text) || audit_field((extract(epoch FROM a.at) * 1000000)::bigint::text)
    || audit_field(a.staff_id::text) || audit_field(a.desk_id::text)
    || audit_field(a.method) || audit_field(a.patient_id::text)
    || audit_field(a.subject) || audit_field(a.outcome)
    || audit_field(encode(a.request_id, 'hex')),
    'UTF8')
$$;

-- Waits for every audit insert in flight; returns the highest audit id
-- that can be sealed. Must be called in its own transaction.
CREATE FUNCTION audit_seal_horizon() RETURNS bigint
LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp AS $$
BEGIN
  -- Never hold up audited calls for long: give up this round instead.
  PERFORM set_config('lock_timeout', '2s', true);
  LOCK TABLE audit_log IN SHARE ROW EXCLUSIVE MODE;
  RETURN (SELECT coalesce(max(id), 0) FROM audit_log);
END
$$;

-- Links the unsealed rows with id <= p_horizon, at most p_limit of them,
-- in id order; returns how many. One sealer at a time (several servers may
-- share the database): the EXCLUSIVE lock on audit_chain serialises them
-- without blocking readers.
CREATE FUNCTION audit_seal(p_horizon bigint, p_limit integer) RETURNS integer
LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp AS $$
DECLARE
  last_id bigint := 0;
  prev    bytea := '\x';
  r       audit_log;
  n       integer := 0;
BEGIN
  LOCK TABLE audit_chain IN EXCLUSIVE MODE;
  SELECT c.audit_id, c.hash INTO last_id, prev
    FROM audit_chain c ORDER BY c.audit_id DESC LIMIT 1;
  IF NOT FOUND THEN
    last_id := 0;
    prev := '\x';
  END IF;
  FOR r IN SELECT * FROM audit_log a WHERE a.id > last_id AND a.id <= p_horizon
           ORDER BY a.id LIMIT p_limit LOOP
    prev := sha256(prev || audit_row_bytes(r));
    INSERT INTO audit_chain (audit_id, hash) VALUES (r.id, prev);
    n := n + 1;
  END LOOP;
  RETURN n;
END
$$;

-- Recomputes the chain. bad_id 0 means it holds; otherwise bad_id is the
-- first row (in id order) that does not match and problem says how.
-- sealed counts links checked, unsealed the rows above the head not yet
-- linked, head the last hash (hex) an operator may record elsewhere: a
-- chain rewritten from some row on by a superuser no longer ends there.
CREATE FUNCTION audit_verify(OUT sealed bigint, OUT unsealed bigint, OUT bad_id bigint,
                             OUT problem text, OUT head text)
LANGUAGE plpgsql STABLE AS $$
DECLARE
  prev    bytea := '\x';
  top     bigint;
  r       record;
BEGIN
  sealed := 0;
  bad_id := 0;
  problem := '';
  SELECT coalesce(max(audit_id), 0) INTO top FROM audit_chain;
  FOR r IN SELECT coalesce(c.audit_id, a.id) AS id, c.hash, a AS arow, a.id IS NULL AS gone
             FROM audit_chain c FULL JOIN audit_log a ON a.id = c.audit_id
            WHERE coalesce(c.audit_id, a.id) <= top
            ORDER BY 1 LOOP
    IF r.gone THEN
      bad_id := r.id;
      problem := 'the row was deleted';
      EXIT;
    ELSIF r.hash IS NULL THEN
      bad_id := r.id;
      problem := 'the row is not in the chain (added below the sealed rows)';
      EXIT;
    END IF;
    prev := sha256(prev || audit_row_bytes(r.arow));
    IF prev <> r.hash THEN
      bad_id := r.id;
      problem := 'the row or its link was changed';
      EXIT;
    END IF;
    sealed := sealed + 1;
  END LOOP;
  SELECT count(*) INTO unsealed FROM audit_log WHERE id > top;
  head := encode(prev, 'hex');
END
$$;

-- What the server may do.
GRANT USAGE ON SCHEMA public TO frontdesk_app;
GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public TO frontdesk_app;
GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA public TO frontdesk_app;
GRANT EXECUTE ON ALL FUNCTIONS IN SCHEMA public TO frontdesk_app;
REVOKE UPDATE, DELETE ON audit_log, audit_chain FROM frontdesk_app;
REVOKE INSERT ON audit_chain FROM frontdesk_app; -- only through audit_seal()
REVOKE INSERT, UPDATE, DELETE ON schema_migrations FROM frontdesk_app;
-- Tables, sequences and functions of later migrations (run by the same
-- owner) get the same grants; a later audit-like table revokes as above.
ALTER DEFAULT PRIVILEGES IN SCHEMA public
  GRANT SELECT, INSERT, UPDATE, DELETE ON TABLES TO frontdesk_app;
ALTER DEFAULT PRIVILEGES IN SCHEMA public
  GRANT USAGE, SELECT ON SEQUENCES TO frontdesk_app;
ALTER DEFAULT PRIVILEGES IN SCHEMA public
  GRANT EXECUTE ON FUNCTIONS TO frontdesk_app;
