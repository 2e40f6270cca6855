-- 0007_audit_chain: placeholder, filled by its owner this session.
SELECT 1;
