-- A manual selection names drafts by source id or by their own number ('RE-2026-00026'): the drafts of one
-- company that match either. Bind parameters: :company_id, :ids (expanding).
SELECT d.id, d.number
FROM invoice_drafts d
WHERE d.company_id = :company_id
  AND (d.id IN :ids OR d.number IN :ids)
