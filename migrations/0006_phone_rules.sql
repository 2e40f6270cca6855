-- 0006_phone_rules: placeholder, filled by its owner this session.
SELECT 1;
