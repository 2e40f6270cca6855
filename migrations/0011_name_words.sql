-- Patient search by name words (issues 4 and 7): "patients having a word
-- near each typed word", found in a word index, instead of a trigram
-- similarity over whole names.
--
-- Why: a trigram search over "given family" meets every patient sharing
-- the given name (every Maria carries the trigrams of "maria"), so its
-- cost grows with the clinic, not with the answer: 3-5 ms a pass at
-- 100,000 patients, about 40 ms at 1,000,000, and up to 60 ms when a
-- name fell through to pg_trgm's 0.3 pass and scored every namesake
-- (docs/PERFORMANCE.md). A desk types a patient's words, each with at
-- most a slip of one letter (dropped, doubled, wrong, two swapped).
-- So each typed word is turned into the few registered words one edit
-- away (the "one letter shorter" keys below, found by equality in a
-- btree), and the patients having one of those for every typed word are
-- intersected in a GIN index over each patient's words: the posting list
-- of the rare word (the family name) drives, the common one (Maria) is
-- skipped through. The cost follows the answer.
--
-- The trigram passes of 0008 stay for what words cannot meet: a word
-- with two slips, two words run together ("mariabode"), a name typed in
-- pieces ("o brien"). The score and the order of the results are the
-- same as before: similarity of the plain names plus of their sorted
-- letters.

-- A name's words as search compares them: accents dropped and lower case
-- (patient_plain_name, 0008), apostrophes removed ("O'Brien" is
-- "obrien", as it is often typed), split at spaces, hyphens and
-- punctuation. Not split at "anything not a letter": with the C locale
-- the regex classes know only ASCII letters, and 李小龍 must stay a word.
-- The preferred name counts as the patient's words too: a desk asking
-- for "Bill Smith" finds William "Bill" Smith.
CREATE FUNCTION patient_name_words(given text, family text, preferred text) RETURNS text[]
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
  SELECT coalesce(array_agg(DISTINCT w ORDER BY w), '{}')
    FROM regexp_split_to_table(
           translate(patient_plain_name(coalesce(given, '') || ' ' || coalesce(family, '') || ' '
                                        || coalesce(preferred, '')),
                     '''’`', ''),
           '[[:space:],.;:/()"_-]+') AS w
   WHERE w <> ''
$$;

-- The keys of a word: the word itself and, from three letters up, each
-- spelling with one letter left out ("bode": bode, ode, bde, boe, bod)
-- and its letters sorted, marked with '#' ("#bdeo"). Two words one edit
-- apart share a key: a dropped or an added letter leaves one equal to
-- the other word, a wrong letter or two swapped letters leave the same
-- shorter spelling on both sides; letters swapped further apart ("Lobo"
-- typed "Bolo") share the sorted letters, as the whole-name anagram key
-- of 0002 did. (Some pairs two edits apart share a key too,
-- "abxcd"/"abcyd": they are near names, and the score ranks them below.)
-- Words of one or two letters (Li, Ng, Wu) are their own key only: one
-- edit from "li" is half the alphabet.
CREATE FUNCTION name_word_keys(word text) RETURNS text[]
LANGUAGE sql IMMUTABLE PARALLEL SAFE STRICT AS $$
  SELECT CASE WHEN length(word) < 3 THEN ARRAY[word]
              ELSE ARRAY[word]
                   || ARRAY(SELECT DISTINCT overlay(word PLACING '' FROM i FOR 1)
                              FROM generate_series(1, length(word)) AS i)
                   || ('#' || (SELECT string_agg(c, '' ORDER BY c COLLATE "C")
                                 FROM regexp_split_to_table(word, '') AS c))
         END
$$;

-- Every word ever registered, under each of its keys: the dictionary a
-- typed word is looked up in (a few tens of thousands of words even for
-- a million patients, about seven keys each). A word stays after its
-- last patient is renamed or merged: it then leads to nobody, which the
-- patient index answers at once.
CREATE TABLE name_word_keys (
  key  text NOT NULL,
  word text NOT NULL,
  PRIMARY KEY (key, word)
);

-- Learns the words of the rows a statement inserted or updated. One
-- statement-level insert, so a bulk load learns its 65,000 words once
-- rather than per row; in key order, so two registrations teaching the
-- same new words wait for each other instead of deadlocking.
CREATE FUNCTION name_word_keys_learn() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
  INSERT INTO name_word_keys (key, word)
  SELECT DISTINCT k, w
    FROM (SELECT DISTINCT unnest(patient_name_words(n.given_name, n.family_name, n.preferred_name)) AS w
            FROM new_rows n) AS words,
         unnest(name_word_keys(w)) AS k
   ORDER BY k, w
  ON CONFLICT DO NOTHING;
  RETURN NULL;
END
$$;
CREATE TRIGGER patients_name_words_inserted AFTER INSERT ON patients
  REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION name_word_keys_learn();
-- No column list: PostgreSQL refuses one on a trigger with a transition
-- table. An update that keeps the names finds its words already known.
CREATE TRIGGER patients_name_words_updated AFTER UPDATE ON patients
  REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION name_word_keys_learn();

-- The words of the patients already registered. Each name part split on
-- its own gives the same words as the whole name, and there are far
-- fewer distinct parts than patients.
INSERT INTO name_word_keys (key, word)
SELECT DISTINCT k, w
  FROM (SELECT DISTINCT unnest(patient_name_words(n, '', '')) AS w
          FROM (SELECT given_name FROM patients UNION SELECT family_name FROM patients
                UNION SELECT preferred_name FROM patients WHERE preferred_name IS NOT NULL)
               AS names (n)) AS words,
       unnest(name_word_keys(w)) AS k;

-- Each patient's words. fastupdate off for the reason given in 0002:
-- searches far outnumber registrations.
CREATE INDEX patients_name_words ON patients
  USING gin (patient_name_words(given_name, family_name, preferred_name))
  WITH (fastupdate = off);

-- The registered words one edit or less from a typed word (or its
-- letters in another order), as an array for the && of the word index.
-- A shared key alone is not enough: "noah" and "nosa" share "noa" and are
-- two edits apart, and with names as dense as the bench's syllable names
-- such pairs made each typed word near dozens of others and "Noah Nosa"
-- score 3,600 patients (22 ms); levenshtein on the few words found keeps
-- the promise of one edit.
-- plpgsql rather than SQL, here and below: called from patients_named()
-- a SQL function is planned again on every call; plpgsql keeps the plan.
CREATE EXTENSION IF NOT EXISTS fuzzystrmatch SCHEMA public;
CREATE FUNCTION name_words_near(typed text) RETURNS text[]
LANGUAGE plpgsql STABLE STRICT AS $$
DECLARE
  -- Worked out once: inside the query it cost twice the lookup itself.
  keys text[] := name_word_keys(typed);
BEGIN
  RETURN (SELECT coalesce(array_agg(DISTINCT k.word), '{}')
            FROM name_word_keys k
           WHERE k.key = ANY (keys)
             AND (k.key LIKE '#%' OR public.levenshtein_less_equal(k.word, typed, 1) <= 1));
END
$$;

-- How many patients carry one of these words, counted up to 200: enough
-- to tell a family name from a given name.
CREATE FUNCTION name_words_carried(words text[]) RETURNS bigint
LANGUAGE plpgsql STABLE STRICT AS $$
BEGIN
  RETURN (SELECT count(*)
            FROM (SELECT 1 FROM patients p
                   WHERE patient_name_words(p.given_name, p.family_name, p.preferred_name) && words
                   LIMIT 200) AS carriers);
END
$$;

-- The rarest typed word's set: the typed word as typed, if anybody
-- carries it, else its near words (near_sets, as text, in the same
-- order); the one the fewest patients carry wins. A word carried as typed
-- beats one met only through its near words ("Noah Nosa": the 37 Nosas,
-- not every near spelling). NULL when nobody carries any.
CREATE FUNCTION name_words_rarest(typed_words text[], near_sets text[]) RETURNS text[]
LANGUAGE plpgsql STABLE STRICT AS $$
DECLARE
  rarest  text[];
  fewest  bigint;
  carried bigint;
  words   text[];
BEGIN
  FOR pass IN 1 .. 2 LOOP
    FOR i IN 1 .. cardinality(typed_words) LOOP
      words := CASE pass WHEN 1 THEN ARRAY[typed_words[i]] ELSE near_sets[i]::text[] END;
      carried := name_words_carried(words);
      IF carried > 0 AND (fewest IS NULL OR carried < fewest) THEN
        fewest := carried;
        rarest := words;
      END IF;
    END LOOP;
    EXIT WHEN rarest IS NOT NULL;
  END LOOP;
  RETURN rarest;
END
$$;

-- A typed word that is two registered words run together ("mariabode",
-- the space dropped): the two words, split where both halves are
-- registered as they are (a word of two letters at least each side),
-- nearest the middle first; NULL when no split gives two known words.
CREATE FUNCTION name_words_split(typed text) RETURNS text[]
LANGUAGE plpgsql STABLE STRICT AS $$
BEGIN
  RETURN (SELECT ARRAY[left(typed, i), substr(typed, i + 1)]
            FROM generate_series(2, length(typed) - 2) AS i
           WHERE EXISTS (SELECT 1 FROM name_word_keys k
                          WHERE k.key = left(typed, i) AND k.word = k.key)
             AND EXISTS (SELECT 1 FROM name_word_keys k
                          WHERE k.key = substr(typed, i + 1) AND k.word = k.key)
           ORDER BY abs(2 * i - length(typed)), i
           LIMIT 1);
END
$$;

-- Patients whose name is like p_name, with the other filters of the
-- search, best first, at most p_limit (the contract of 0008's version).
--
-- 1. Words: the typed words of two letters or more (a lone initial only
--    ranks), the three longest if there are more; for each, the
--    registered words one edit away; the patients having one of them
--    for every typed word. Almost every search ends here.
-- 2. When every typed word has near words but no patient has them all
--    ("Maria Bode" where the clinic has Bodes and Marias but no Maria
--    Bode): the patients having the rarest typed word (the one fewest
--    patients carry as typed, counted up to 200; else through its near
--    words), ranked by the whole name, so the desk sees the Bodes first,
--    not 3,000 Marias.
-- 3. When a typed word has no registered word one edit away and is not
--    two registered words run together (two slips in a word, a name
--    typed in pieces), or the filters leave nobody: 0008's trigram
--    passes, 0.7, 0.6, then 0.3.
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
    -- Every typed word; when nobody carries them all, the rarest typed
    -- word alone: the same query with its words in all three places.
    -- (With one typed word that is the same question: straight on to
    -- the trigrams.)
    LOOP
      RETURN QUERY
        SELECT p.id,
               round((similarity(patient_plain_name(p.given_name || ' ' || p.family_name), typed)
                      + similarity(p.search_anagram, anagram))::numeric, 4) AS score
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
