-- How many of a bank customer's transactions completed in [:start, :end) belong to accounts connected from
-- another bank (multi-banking, is_own false). They are out of scope: not read, not staged, not failures; the
-- report counts them once so that the failure list shows only what someone has to fix.
-- Bind parameters: :company_id, :start, :end.
SELECT COUNT(*)
FROM transactions t
JOIN accounts a ON a.id = t.account_id
WHERE a.company_id = :company_id
  AND NOT a.is_own
  AND t.completed_at >= :start
  AND t.completed_at < :end
