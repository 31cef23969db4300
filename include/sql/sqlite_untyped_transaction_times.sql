-- SQLite only: a bank customer's transactions whose completion time is not text (e.g. epoch integers).
-- The contract is UTC text 'YYYY-MM-DD HH:MM:SS[.ffffff]'; SQLite orders every number before every text, so
-- windows never read such rows. Staging reports them instead of leaving them silently behind.
-- Bind parameters: :company_id. One row: (checked column, bad rows, one example value).
SELECT 'transactions.completed_at', COUNT(*), MIN(t.completed_at)
FROM transactions t
JOIN accounts a ON a.id = t.account_id
WHERE a.company_id = :company_id
  AND typeof(t.completed_at) NOT IN ('text', 'null')
