-- Search speed (issue 7): the two searches a desk runs all day, first
-- available slot and patient by name, as functions whose plans PostgreSQL
-- keeps between calls and which stop as soon as the answer is known.
-- Measured on the bench clinic (docs/PERFORMANCE.md): both were planned
-- again on every call (a third of the slot search's time), and each read
-- far more rows than the answer needed.

-- The first open slot of a type at a location for the given providers,
-- looking one local day at a time from p_first_day for at most p_days
-- days, and stopping at the first day that has one. Ties on the start go
-- to the provider first by display name, then by id, as in the slot list.
-- p_time_of_day: '' (any), 'morning' (starts before 12:00 local) or
-- 'afternoon'. The rules are open_slots()'s, unchanged: this only decides
-- which days it is asked about, so a slot found here is one booking
-- accepts. A day is [local midnight, next local midnight) in the
-- location's zone, so daylight-saving days are 23 or 25 hours long.
--
-- Why day by day: open_slots() builds every candidate start of the range
-- it is given before the earliest is picked, so one day costs about a
-- seventh of a week; most days have a free slot, and the plan of the
-- one-day query is made once per connection (plpgsql keeps it), where the
-- same query sent from C was planned on every call (about 2 ms of its 7).
CREATE FUNCTION first_open_slot(p_type bigint, p_location bigint, p_providers bigint[],
                                p_first_day date, p_days integer, p_time_of_day text)
RETURNS TABLE (provider_id bigint, starts_at timestamptz, ends_at timestamptz)
LANGUAGE plpgsql STABLE ROWS 1 AS $$
DECLARE
  zone text;
  day  date;
BEGIN
  SELECT l.time_zone INTO zone FROM locations l WHERE l.id = p_location;
  IF zone IS NULL THEN
    RETURN;
  END IF;
  FOR i IN 0 .. p_days - 1 LOOP
    day := p_first_day + i;
    -- The providers' names are read only for the day's earliest start:
    -- joined to every open slot, they cost a third of the query.
    RETURN QUERY
      WITH open AS MATERIALIZED (
        SELECT s.provider_id, s.starts_at, s.ends_at
          FROM open_slots(p_type, p_location, p_providers,
                          day::timestamp AT TIME ZONE zone,
                          (day + 1)::timestamp AT TIME ZONE zone) s
         WHERE p_time_of_day = ''
            OR (p_time_of_day = 'morning') = ((s.starts_at AT TIME ZONE zone)::time < time '12:00'))
      SELECT o.provider_id, o.starts_at, o.ends_at
        FROM open o JOIN providers p ON p.id = o.provider_id
       WHERE o.starts_at = (SELECT min(e.starts_at) FROM open e)
       ORDER BY p.display_name, p.id
       LIMIT 1;
    IF FOUND THEN
      RETURN;
    END IF;
  END LOOP;
END
$$;

-- A name as patient search compares it: lower case, accents dropped
-- ("José García" -> "jose garcia"), so a desk typing without accents meets
-- the record as it was registered. unaccent() with its dictionary named is
-- immutable in fact; written out in full so an index can use it.
CREATE EXTENSION IF NOT EXISTS unaccent SCHEMA public;
CREATE FUNCTION patient_plain_name(name text) RETURNS text
LANGUAGE sql IMMUTABLE PARALLEL SAFE STRICT AS $$
  SELECT lower(public.unaccent('public.unaccent'::regdictionary, name))
$$;
-- The name key of patient search (the sorted-letters key stays
-- search_anagram, 0002). An expression index rather than a column, so the
-- patient's change history (which diffs every column) does not grow a
-- derived field; computing it again for a candidate row costs about 2 µs.
CREATE INDEX patients_plain_name_trgm ON patients
  USING gin (patient_plain_name(given_name || ' ' || family_name) gin_trgm_ops)
  WITH (fastupdate = off);

-- Patients whose name is like p_name (typos, missing letters, swapped
-- letters or words, missing accents), with the other filters of the
-- search, best first, at most p_limit: the ids and scores FindPatients
-- shows. The score adds the similarity of the plain names
-- (patient_plain_name) and of the sorted letters (search_anagram).
--
-- Up to three passes over the two trigram indexes
-- (patients_plain_name_trgm, patients_search_anagram_trgm), each only
-- when the one before found nobody: close matches (similarity 0.7 on the
-- name or on its sorted letters), then 0.6, then pg_trgm's default 0.3,
-- the search as it was, so a name that found someone before still finds
-- them. Of 300 names drawn as the bench draws them (a dropped letter one
-- time in four), about 265 stop after the first pass, 25-30 after the
-- second.
-- Why: a given name alone shares enough trigrams with everyone of that
-- given name to pass 0.3 (and the index's own estimate up to about 0.6),
-- so at 100,000 patients "Maria Bode" fetched and scored 3,200 rows to
-- show 20 (27 ms); at 0.7 it reads a few dozen (3-5 ms). What changes for
-- the desk: when close matches exist, weak ones (a namesake's given name
-- only) are left out. Typos still meet the first pass: "Jonh Smtih"
-- scores 1.0 on sorted letters, "Bartholomwe Quigly" 0.77, a dropped
-- letter ("Maria Bde", "Mria Bode") 0.75; "Jose Garcia" meets José García
-- at 1.0 (it scored 0.41 with accents, so a close namesake would have hidden
-- him).
--
-- No parallel workers: on a busy server a worker process per search costs
-- more than it saves on a few hundred rows.
CREATE FUNCTION patients_named(p_name text, p_dob date, p_phone text, p_mrn text,
                               p_include_merged boolean, p_limit integer)
RETURNS TABLE (id bigint, score numeric)
LANGUAGE plpgsql STABLE
-- A page of results, not the planner's default guess of 1,000 rows (with
-- that guess the caller's join to patients read the whole table).
ROWS 20
SET pg_trgm.similarity_threshold = 0.7
SET max_parallel_workers_per_gather = 0
AS $$
DECLARE
  typed   text := patient_plain_name(p_name);
  anagram text := patient_name_anagram(p_name);
  threshold text;
BEGIN
  FOREACH threshold IN ARRAY ARRAY['0.7', '0.6', '0.3'] LOOP
    -- Local to this call: the function's SET clause restores it on return.
    PERFORM set_config('pg_trgm.similarity_threshold', threshold, false);
    RETURN QUERY
      SELECT p.id,
             round((similarity(patient_plain_name(p.given_name || ' ' || p.family_name), typed)
                    + similarity(p.search_anagram, anagram))::numeric, 4) AS score
        FROM patients p
       WHERE (patient_plain_name(p.given_name || ' ' || p.family_name) % typed
              OR p.search_anagram % anagram)
         AND (p_dob IS NULL OR p.date_of_birth = p_dob)
         AND (p_phone IS NULL OR p.phone_e164 = p_phone OR p.phone2_e164 = p_phone)
         AND (p_mrn IS NULL OR p.mrn = upper(p_mrn))
         AND (p_include_merged OR p.merged_into IS NULL)
       ORDER BY 2 DESC, p.family_name, p.given_name, p.id
       LIMIT p_limit;
    EXIT WHEN FOUND;
  END LOOP;
END
$$;
