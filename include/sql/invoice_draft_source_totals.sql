-- The gross totals the source system shows for the given drafts (optional column; NULL: not compared).
-- As text, so the amount reaches Python as the exact decimal the source stored (never a float).
-- Bind parameters: :company_id, :ids (expanding).
SELECT d.id, CAST(d.source_gross_total AS TEXT) AS source_gross_total
FROM invoice_drafts d
WHERE d.company_id = :company_id
  AND d.id IN :ids
  AND d.source_gross_total IS NOT NULL
