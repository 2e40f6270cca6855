-- Grows the benchmark clinic to :target patients (psql variable), run by
-- tests/bench/run.sh before seed.sql and again for each step of the
-- patient-search curve. Names are drawn by a hash of the row number (see
-- below); birth dates spread over 90 years; every
-- patient has a distinct phone (+1555 and the row number).
-- Written with session_replication_role = replica: the history trigger
-- would add a row per patient that no benchmarked call reads.
\set ON_ERROR_STOP on

BEGIN;
SET LOCAL session_replication_role = replica;
-- The name search's trigram indexes are built once after the load instead
-- of row by row during it (they have no pending list, migrations/0002 and
-- 0008): 100,000 patients load in about a quarter of the time. Same names
-- and definitions as the migrations', so the searches measured run on the
-- same indexes.
SET LOCAL maintenance_work_mem = '256MB';
DROP INDEX patients_search_name_trgm, patients_search_anagram_trgm, patients_plain_name_trgm,
  patients_name_words;
WITH given AS (SELECT ARRAY['Maria','James','Thanh','Emily','Chidi','Lukas','Giulia','Aisha',
                            'Mohammed','Olivia','Noah','Sofia','Liam','Yuki','Priya','Mateo',
                            'Fatima','Elena','David','Grace','Omar','Hannah','Lucas','Amara',
                            'Ivan','Chloe','Kenji','Zara','Samuel','Leila','Daniel','Ana'] AS a),
     -- Family names are two or three of these syllables: about 65,000
     -- different names, so a clinic of 100,000 has few exact namesakes but
     -- many near ones, as real name search meets.
     family AS (SELECT ARRAY['ab','al','an','ar','ba','be','bo','da','de','di','el','en','er',
                             'fa','fe','ga','go','ha','he','ka','ko','la','le','li','lo','ma',
                             'me','mi','mo','na','ne','ni','no','ra','re','ri','ro','sa','se',
                             'ta'] AS a),
     start AS (SELECT coalesce(max(id), 0) AS n FROM patients)
INSERT INTO patients (family_name, given_name, date_of_birth, phone_e164, sex_at_birth)
SELECT initcap(family.a[1 + (hashint4(g::int)::bigint + 2147483648) % 40]
               || family.a[1 + (hashint4(g::int + 7)::bigint + 2147483648) % 40]
               || CASE WHEN g % 5 < 2
                       THEN family.a[1 + (hashint4(g::int + 13)::bigint + 2147483648) % 40]
                       ELSE '' END),
       given.a[1 + (hashint4(g::int * 31)::bigint + 2147483648) % cardinality(given.a)],
       date '1935-01-01' + ((hashint4(g::int * 17)::bigint + 2147483648) % 32000)::int,
       '+1555' || lpad(g::text, 7, '0'),
       (ARRAY['female', 'male'])[1 + g % 2]
  FROM given, family, start, generate_series(start.n + 1, :target) g;
CREATE INDEX patients_search_name_trgm ON patients USING gin (search_name gin_trgm_ops)
  WITH (fastupdate = off);
CREATE INDEX patients_search_anagram_trgm ON patients USING gin (search_anagram gin_trgm_ops)
  WITH (fastupdate = off);
CREATE INDEX patients_plain_name_trgm ON patients
  USING gin (patient_plain_name(given_name || ' ' || family_name) gin_trgm_ops)
  WITH (fastupdate = off);
CREATE INDEX patients_name_words ON patients
  USING gin (patient_name_words(given_name, family_name, preferred_name))
  WITH (fastupdate = off);
-- The name words the insert trigger would have learned (replica role:
-- triggers are off), as migrations/0011 learns them.
INSERT INTO name_word_keys (key, word)
SELECT DISTINCT k, w
  FROM (SELECT DISTINCT unnest(patient_name_words(n, '', '')) AS w
          FROM (SELECT given_name FROM patients UNION SELECT family_name FROM patients
                UNION SELECT preferred_name FROM patients WHERE preferred_name IS NOT NULL)
               AS names (n)) AS words,
       unnest(name_word_keys(w)) AS k
ON CONFLICT DO NOTHING;
-- The pairs of name words the insert trigger would have added
-- (migrations/0016), for the patients added by this step: the pairs'
-- index is built after, as the others.
ALTER TABLE patient_name_pairs DROP CONSTRAINT patient_name_pairs_pkey;
INSERT INTO patient_name_pairs (pair, patient_id)
SELECT pr, p.id
  FROM patients p,
       unnest(patient_name_word_pairs(p.given_name, p.family_name, p.preferred_name)) AS pr
 WHERE p.id > (SELECT coalesce(max(patient_id), 0) FROM patient_name_pairs);
ALTER TABLE patient_name_pairs ADD PRIMARY KEY (pair, patient_id);
COMMIT;

ANALYZE patients;
