-- Patient search's "rarer word" pass (0011) takes each typed word as
-- docs/patients.md says: as typed if anybody carries it, else through its
-- near words; the one the fewest patients carry wins.
--
-- Why: 0011 looked at every typed word as typed first, and only when
-- nobody carried any of them at their near words. So "James Fli" (the
-- family name Fali or Feli typed with a slip) chose "james", carried as
-- typed by every James in the clinic, over the few Falis and Felis: the
-- desk saw 20 of 3,000 Jameses, and the search scored all 3,000 (17 ms
-- at 100,000 patients, about 200 ms at 1,000,000, where one such search
-- holds a worker long enough to show in every desk's p99;
-- docs/PERFORMANCE.md). A word carried as typed still beats its own near
-- words (they are carried by at least as many), and still wins a tie
-- with another word's near words ("Noah Nosa": the Nosas, not every near
-- spelling of a name).
CREATE OR REPLACE FUNCTION name_words_rarest(typed_words text[], near_sets text[]) RETURNS text[]
LANGUAGE plpgsql STABLE STRICT AS $$
DECLARE
  rarest       text[];
  fewest       bigint;
  fewest_near  boolean;
  carried      bigint;
  words        text[];
  by_near      boolean;
BEGIN
  FOR i IN 1 .. cardinality(typed_words) LOOP
    words := ARRAY[typed_words[i]];
    by_near := false;
    carried := name_words_carried(words);
    IF carried = 0 THEN
      words := near_sets[i]::text[];
      by_near := true;
      carried := name_words_carried(words);
    END IF;
    IF carried > 0 AND (fewest IS NULL OR carried < fewest
                        OR (carried = fewest AND fewest_near AND NOT by_near)) THEN
      fewest := carried;
      fewest_near := by_near;
      rarest := words;
    END IF;
  END LOOP;
  RETURN rarest;
END
$$;
