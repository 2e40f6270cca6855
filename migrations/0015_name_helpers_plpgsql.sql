-- Patient search's name helpers in PL/pgSQL (issue 7): the same answers,
-- a fraction of the cost per search.
--
-- Why: PostgreSQL 15 parses and plans a SQL function's body again in
-- every statement that calls it, unless the planner can inline it (one
-- expression, no subquery, nothing more volatile than declared). None of
-- these four can be: patient_plain_name is IMMUTABLE over unaccent()
-- (STABLE, so an index may use it but the planner may not inline it),
-- the others have subqueries. Each search paid that from patients_named()
-- (0011): about 100 µs for the typed name's sorted letters, 85 for its
-- words, 70 for each typed word's keys, 12 for its plain form; and the
-- score ran patient_plain_name through the SQL executor for every
-- candidate, 2.6 µs a row (208 rows for "maria koro" among 1,000,000
-- patients). PL/pgSQL keeps its plans for the session's life, and a
-- RETURN of one expression skips the executor: 35, 24, 18 and 3 µs, and
-- 1 µs a row (docs/PERFORMANCE.md).
--
-- Three of them stand behind indexes and a stored column
-- (patients_plain_name_trgm and patients_name_words, search_anagram):
-- their new bodies run the very same expressions, so every stored key
-- stays what it was (compared for all 1,000,000 bench patients and the
-- demo clinic before this was written: identical). name_word_keys only
-- feeds the word dictionary and the lookups, as a set: the same keys,
-- listed in another order.
--
-- Calls between them name their schema: a PL/pgSQL body is resolved
-- with the caller's search_path, and a restore sets an empty one while
-- it builds the indexes.

CREATE OR REPLACE FUNCTION patient_plain_name(name text) RETURNS text
LANGUAGE plpgsql IMMUTABLE PARALLEL SAFE STRICT AS $$
BEGIN
  RETURN lower(public.unaccent('public.unaccent'::regdictionary, name));
END
$$;

CREATE OR REPLACE FUNCTION patient_name_anagram(name text) RETURNS text
LANGUAGE plpgsql IMMUTABLE PARALLEL SAFE AS $$
BEGIN
  RETURN (SELECT coalesce(string_agg(w.sorted, ' ' ORDER BY w.sorted COLLATE "C"), '')
            FROM (SELECT (SELECT string_agg(c, '' ORDER BY c COLLATE "C")
                            FROM regexp_split_to_table(word, '') AS c) AS sorted
                    FROM regexp_split_to_table(lower(name), '\s+') AS word
                   WHERE word <> '') AS w);
END
$$;

CREATE OR REPLACE FUNCTION patient_name_words(given text, family text, preferred text) RETURNS text[]
LANGUAGE plpgsql IMMUTABLE PARALLEL SAFE AS $$
BEGIN
  RETURN (SELECT coalesce(array_agg(DISTINCT w ORDER BY w), '{}')
            FROM regexp_split_to_table(
                   translate(public.patient_plain_name(coalesce(given, '') || ' '
                                                       || coalesce(family, '') || ' '
                                                       || coalesce(preferred, '')),
                             '''’`', ''),
                   '[[:space:],.;:/()"_-]+') AS w
           WHERE w <> '');
END
$$;

-- The same keys as 0011's (the word; from three letters up each spelling
-- one letter shorter, once each; the sorted letters after '#'), built in
-- a loop instead of two subqueries.
CREATE OR REPLACE FUNCTION name_word_keys(word text) RETURNS text[]
LANGUAGE plpgsql IMMUTABLE PARALLEL SAFE STRICT AS $$
DECLARE
  keys    text[] := ARRAY[word];
  shorter text;
BEGIN
  IF length(word) < 3 THEN
    RETURN keys;
  END IF;
  FOR i IN 1 .. length(word) LOOP
    shorter := overlay(word PLACING '' FROM i FOR 1);
    IF shorter <> ALL (keys) THEN
      keys := keys || shorter;
    END IF;
  END LOOP;
  RETURN keys || ('#' || array_to_string(ARRAY(SELECT c FROM unnest(string_to_array(word, NULL)) AS c
                                                ORDER BY c COLLATE "C"), ''));
END
$$;

-- name_words_near's lookup was planned again on every call (54 µs, more
-- than the 40 µs it runs): PL/pgSQL's choice between a custom and the
-- generic plan stayed with custom plans, which are no better here (the
-- keys are always a handful of equalities on the primary key).
ALTER FUNCTION name_words_near(text) SET plan_cache_mode = force_generic_plan;
