-- SQLite only: a company's invoice drafts whose created_at or updated_at is not text (e.g. epoch integers).
-- The contract is UTC text 'YYYY-MM-DD HH:MM:SS[.ffffff]'; SQLite orders every number before every text, so
-- windows never read such rows. Staging reports them instead of leaving them silently behind.
-- Bind parameters: :company_id. One row per column: (checked column, bad rows, one example value).
SELECT 'invoice_drafts.created_at', COUNT(*), MIN(d.created_at)
FROM invoice_drafts d
WHERE d.company_id = :company_id
  AND typeof(d.created_at) NOT IN ('text', 'null')
UNION ALL
SELECT 'invoice_drafts.updated_at', COUNT(*), MIN(d.updated_at)
FROM invoice_drafts d
WHERE d.company_id = :company_id
  AND typeof(d.updated_at) NOT IN ('text', 'null')
