-- Patient search by pairs of name words (issue 7): a two-word search in a
-- large clinic looks up the pairs it can mean instead of intersecting two
-- long lists.
--
-- Why: 0011 finds "maria koro" as the patients having a word near "maria"
-- and a word near "koro", intersected in the GIN word index. That costs
-- about what the shorter list holds times the number of near words on
-- both sides (every step compares every stream), and in a clinic of
-- 1,000,000 the near words of a family name are carried by 11,000
-- patients: 2.2 ms of GIN work for 208 patients found, half of the
-- search (docs/PERFORMANCE.md). Each patient's words taken two at a time
-- are few (one pair for "given family", three with a preferred name), so
-- they are kept in a btree, and a search asks for every pair of a near
-- word of one typed word with a near word of the other: 342 probes for
-- "maria koro", 0.5 ms, whatever the clinic's size. In a small clinic
-- the lists are short and the GIN intersection is cheaper than the
-- probes, so patients_named() picks by the count of probes against the
-- clinic's size.

-- Two name words as one key, "a b" with a before b (byte order; words
-- never hold a space), whichever order they come in: the one spelling of
-- a pair, for the patients' pairs and for a search's.
CREATE FUNCTION name_word_pair(a text, b text) RETURNS text
LANGUAGE sql IMMUTABLE PARALLEL SAFE STRICT AS $$
  SELECT CASE WHEN a COLLATE "C" < b COLLATE "C" THEN a || ' ' || b ELSE b || ' ' || a END
$$;

-- A patient's words (patient_name_words(), 0011) two at a time: every
-- pair once.
CREATE FUNCTION patient_name_word_pairs(given text, family text, preferred text) RETURNS text[]
LANGUAGE plpgsql IMMUTABLE PARALLEL SAFE AS $$
DECLARE
  words text[] := public.patient_name_words(given, family, preferred);
BEGIN
  RETURN ARRAY(SELECT public.name_word_pair(a.w, b.w)
                 FROM unnest(words) AS a (w), unnest(words) AS b (w)
                WHERE a.w COLLATE "C" < b.w COLLATE "C"
                ORDER BY 1);
END
$$;

-- The pairs of each patient's words (patient_name_words(), 0011), kept
-- by the triggers below: search data derived from the row, as the word
-- index is. No foreign key on purpose: a merge moves every row that
-- refers to the duplicate (patient_merge(), 0002), and the duplicate's
-- name stays the duplicate's (a search with merged records included
-- finds it by its own name, as through the word index).
CREATE TABLE patient_name_pairs (
  pair       text NOT NULL,
  patient_id bigint NOT NULL,
  PRIMARY KEY (pair, patient_id)
);

CREATE FUNCTION patient_name_pairs_added() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
  INSERT INTO patient_name_pairs (pair, patient_id)
  SELECT pr, n.id
    FROM new_rows n,
         unnest(public.patient_name_word_pairs(n.given_name, n.family_name, n.preferred_name)) AS pr
  ON CONFLICT DO NOTHING;
  RETURN NULL;
END
$$;

-- Only the patients whose name changed: their old pairs go (found by the
-- primary key, from the old names), their new pairs come.
CREATE FUNCTION patient_name_pairs_renamed() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
  DELETE FROM patient_name_pairs pp
   USING (SELECT o.id,
                 unnest(public.patient_name_word_pairs(o.given_name, o.family_name, o.preferred_name)) AS pr
            FROM old_rows o JOIN new_rows n ON n.id = o.id
           WHERE (o.given_name, o.family_name, o.preferred_name)
                 IS DISTINCT FROM (n.given_name, n.family_name, n.preferred_name)) AS gone
   WHERE pp.pair = gone.pr AND pp.patient_id = gone.id;
  INSERT INTO patient_name_pairs (pair, patient_id)
  SELECT pr, n.id
    FROM old_rows o JOIN new_rows n ON n.id = o.id,
         unnest(public.patient_name_word_pairs(n.given_name, n.family_name, n.preferred_name)) AS pr
   WHERE (o.given_name, o.family_name, o.preferred_name)
         IS DISTINCT FROM (n.given_name, n.family_name, n.preferred_name)
  ON CONFLICT DO NOTHING;
  RETURN NULL;
END
$$;

-- Patients are merged, never deleted; should one be, its pairs go too.
CREATE FUNCTION patient_name_pairs_removed() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
  DELETE FROM patient_name_pairs pp
   USING (SELECT o.id,
                 unnest(public.patient_name_word_pairs(o.given_name, o.family_name, o.preferred_name)) AS pr
            FROM old_rows o) AS gone
   WHERE pp.pair = gone.pr AND pp.patient_id = gone.id;
  RETURN NULL;
END
$$;

CREATE TRIGGER patients_name_pairs_inserted AFTER INSERT ON patients
  REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION patient_name_pairs_added();
CREATE TRIGGER patients_name_pairs_updated AFTER UPDATE ON patients
  REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
  FOR EACH STATEMENT EXECUTE FUNCTION patient_name_pairs_renamed();
CREATE TRIGGER patients_name_pairs_deleted AFTER DELETE ON patients
  REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION patient_name_pairs_removed();

-- Nearly every pair names one or two patients. ANALYZE's sample cannot
-- tell (it guessed 2,400 patients a pair among 1,000,000, and the
-- planner then read the whole table for a search's 342 pairs), so it is
-- said here.
ALTER TABLE patient_name_pairs ALTER COLUMN pair SET (n_distinct = -0.5);

-- The patients already registered.
INSERT INTO patient_name_pairs (pair, patient_id)
SELECT pr, p.id
  FROM patients p,
       unnest(patient_name_word_pairs(p.given_name, p.family_name, p.preferred_name)) AS pr
ON CONFLICT DO NOTHING;
ANALYZE patient_name_pairs;

-- A candidate's score, the same in every pass: the trigram similarity of
-- the plain names plus that of the sorted letters (0008), rounded as the
-- desk sees it. One definition; a SQL function the planner inlines, so
-- calling it costs nothing per row.
CREATE FUNCTION patient_name_score(given text, family text, anagram text,
                                   typed text, typed_anagram text) RETURNS numeric
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
  SELECT round((similarity(public.patient_plain_name(given || ' ' || family), typed)
                + similarity(anagram, typed_anagram))::numeric, 4)
$$;

-- 0011's search, with the pair lookup for two typed words when the
-- clinic is large enough for it to pay, and always when the two typed
-- words are near each other. Two typed words now need two different
-- patient words, one near each: with the word index one word near both
-- ("noah" for "Noah Noha") matched on its own, so every Noah was a
-- candidate and was scored (3,000 at 100,000 patients: 17-20 ms, the
-- slowest searches of the bench). When the typed words are not near each
-- other, the candidates are exactly 0011's. The score, order and
-- fallbacks are 0011's.
CREATE OR REPLACE FUNCTION patients_named(p_name text, p_dob date, p_phone text, p_mrn text,
                                          p_include_merged boolean, p_limit integer)
RETURNS TABLE (id bigint, score numeric)
LANGUAGE plpgsql STABLE
ROWS 20
SET pg_trgm.similarity_threshold = 0.7
SET max_parallel_workers_per_gather = 0
AS $$
DECLARE
  typed   text := patient_plain_name(p_name);
  anagram text := patient_name_anagram(p_name);
  halves  text[];
  typed_words text[] := '{}';
  near_sets text[] := '{}';
  near    text[];
  near1   text[];
  near2   text[];
  near3   text[];
  rarest  text[];
  word    text;
  threshold text;
  clinic  real;
  by_pairs boolean := false;
  pairs   text[];
  paired  bigint[];
BEGIN
  -- The typed words to match, longest first (the most telling; the
  -- first drives the index), at most three, each with its near words
  -- (kept as text: plpgsql has no array of arrays of different lengths).
  -- A word near nothing that is two registered words run together
  -- counts as the two.
  FOR word IN SELECT w FROM unnest(patient_name_words(p_name, '', '')) AS w
               WHERE length(w) >= 2
               ORDER BY length(w) DESC, w LOOP
    EXIT WHEN cardinality(typed_words) >= 3;
    near := name_words_near(word);
    IF cardinality(near) = 0 AND length(word) >= 4 THEN
      halves := name_words_split(word);
      IF halves IS NOT NULL THEN
        typed_words := typed_words || halves;
        near_sets := near_sets || name_words_near(halves[1])::text || name_words_near(halves[2])::text;
        CONTINUE;
      END IF;
    END IF;
    typed_words := typed_words || word;
    near_sets := near_sets || near::text;
  END LOOP;
  IF cardinality(typed_words) > 0 THEN
    near1 := near_sets[1]::text[];
    near2 := coalesce(near_sets[2]::text[], near1);
    near3 := coalesce(near_sets[3]::text[], near1);
  END IF;

  IF cardinality(near1) > 0 AND cardinality(near2) > 0 AND cardinality(near3) > 0 THEN
    -- Two typed words: by pairs when the probes (one per pair of near
    -- words) cost less than the word index's intersection, which grows
    -- with the clinic. Measured on the bench clinic: a probe costs about
    -- what the intersection costs per 600 patients (1.4 µs; 0.25 ms at
    -- 100,000 patients, 2.2 ms at 1,000,000, for about 200 pairs). The
    -- setting frontdesk.name_pair_patients replaces the 600: the tests
    -- compare both ways on one clinic with it (0: always pairs).
    -- Two typed words near each other ("Noah Noha"): always by pairs,
    -- so that one patient word does not stand for both (in the word
    -- index every Noah matched, and all of them were scored).
    IF cardinality(typed_words) = 2 THEN
      SELECT c.reltuples INTO clinic FROM pg_class c WHERE c.oid = 'public.patients'::regclass;
      by_pairs := near1 && near2
                  OR cardinality(near1)::real * cardinality(near2)
                     * coalesce(nullif(current_setting('frontdesk.name_pair_patients', true), '')::real, 600)
                     < clinic;
    END IF;
    IF by_pairs THEN
      -- The pairs worked out first: as a parameter the lookup keeps a
      -- plan that reads the index alone (written inside, the planner
      -- guessed 50,000 rows and visited the table).
      pairs := ARRAY(SELECT name_word_pair(a, b)
                       FROM unnest(near1) AS a, unnest(near2) AS b
                      WHERE a <> b);
      paired := ARRAY(SELECT pp.patient_id FROM patient_name_pairs pp WHERE pp.pair = ANY (pairs));
    END IF;
    -- Every typed word; when nobody carries them all, the rarest typed
    -- word alone: the same query with its words in all three places.
    -- (With one typed word that is the same question: straight on to
    -- the trigrams.)
    LOOP
      IF by_pairs AND rarest IS NULL THEN
        RETURN QUERY
          SELECT p.id, patient_name_score(p.given_name, p.family_name, p.search_anagram, typed, anagram)
            FROM patients p
           WHERE p.id = ANY (paired)
             AND (p_dob IS NULL OR p.date_of_birth = p_dob)
             AND (p_phone IS NULL OR p.phone_e164 = p_phone OR p.phone2_e164 = p_phone)
             AND (p_mrn IS NULL OR p.mrn = upper(p_mrn))
             AND (p_include_merged OR p.merged_into IS NULL)
           ORDER BY 2 DESC, p.family_name, p.given_name, p.id
           LIMIT p_limit;
      ELSE
        RETURN QUERY
          SELECT p.id, patient_name_score(p.given_name, p.family_name, p.search_anagram, typed, anagram)
            FROM patients p
           WHERE patient_name_words(p.given_name, p.family_name, p.preferred_name) && near1
             AND patient_name_words(p.given_name, p.family_name, p.preferred_name) && near2
             AND patient_name_words(p.given_name, p.family_name, p.preferred_name) && near3
             AND (p_dob IS NULL OR p.date_of_birth = p_dob)
             AND (p_phone IS NULL OR p.phone_e164 = p_phone OR p.phone2_e164 = p_phone)
             AND (p_mrn IS NULL OR p.mrn = upper(p_mrn))
             AND (p_include_merged OR p.merged_into IS NULL)
           ORDER BY 2 DESC, p.family_name, p.given_name, p.id
           LIMIT p_limit;
      END IF;
      IF FOUND THEN
        RETURN;
      END IF;
      EXIT WHEN rarest IS NOT NULL OR cardinality(typed_words) = 1;
      rarest := name_words_rarest(typed_words, near_sets);
      EXIT WHEN rarest IS NULL;
      near1 := rarest;
      near2 := rarest;
      near3 := rarest;
    END LOOP;
  END IF;

  FOREACH threshold IN ARRAY ARRAY['0.7', '0.6', '0.3'] LOOP
    -- Local to this call: the function's SET clause restores it on return.
    PERFORM set_config('pg_trgm.similarity_threshold', threshold, false);
    RETURN QUERY
      SELECT p.id, patient_name_score(p.given_name, p.family_name, p.search_anagram, typed, anagram)
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
