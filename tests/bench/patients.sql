-- Grows the benchmark clinic to :target patients (psql variable), run by
-- tests/bench/run.sh before seed.sql and again for each step of the
-- patient-search curve. Names come from common given and family names
-- combined by a hash of the row number, so a name search finds a
-- realistic handful of namesakes; birth dates spread over 90 years; every
-- patient has a distinct phone (+1555 and the row number).
-- Written with session_replication_role = replica: the history trigger
-- would add a row per patient that no benchmarked call reads.
\set ON_ERROR_STOP on

BEGIN;
SET LOCAL session_replication_role = replica;
WITH given AS (SELECT ARRAY['Maria','James','Thanh','Emily','Chidi','Lukas','Giulia','Aisha',
                            'Mohammed','Olivia','Noah','Sofia','Liam','Yuki','Priya','Mateo',
                            'Fatima','Elena','David','Grace','Omar','Hannah','Lucas','Amara',
                            'Ivan','Chloe','Kenji','Zara','Samuel','Leila','Daniel','Ana'] AS a),
     family AS (SELECT ARRAY['Garcia','Nguyen','Johnson','Okoye','Schmidt','Rossi','Smith',
                             'Khan','Kim','Martinez','Brown','Lopez','Wilson','Tanaka','Patel',
                             'Silva','Cohen','Muller','Ivanova','Dubois','Haddad','Kowalski',
                             'Andersson','Mensah','Novak','Fischer','Moreau','Reyes','Osei',
                             'Yilmaz','Sato','Jensen','Murphy','Ahmed','Costa','Bianchi',
                             'Popescu','Horvat','Larsen','Quinn','Abara','Ferreira','Varga',
                             'Lindqvist','Okafor','Castillo','Nakamura','Petrov','Walsh',
                             'Baptiste','Romero','Hughes','Weber','Sandoval','Kaur','Mwangi',
                             'Lund','Fontaine','Oyelaran','Tran','Gallagher','Rahman','Eze',
                             'Delgado'] AS a),
     start AS (SELECT coalesce(max(id), 0) AS n FROM patients)
INSERT INTO patients (family_name, given_name, date_of_birth, phone_e164, sex_at_birth)
SELECT family.a[1 + abs(hashint4(g)) % cardinality(family.a)]
         || CASE WHEN g % 7 = 0 THEN '-' || family.a[1 + abs(hashint4(g + 1)) % cardinality(family.a)]
                 ELSE '' END,
       given.a[1 + abs(hashint4(g * 31)) % cardinality(given.a)],
       date '1935-01-01' + abs(hashint4(g * 17)) % 32000,
       '+1555' || lpad(g::text, 7, '0'),
       (ARRAY['female', 'male'])[1 + g % 2]
  FROM given, family, start, generate_series(start.n + 1, :target) g;
COMMIT;

ANALYZE patients;
