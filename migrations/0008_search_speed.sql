-- 0008_search_speed: placeholder, filled by its owner this session.
SELECT 1;
