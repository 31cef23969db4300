-- Send mode 'requested': the ids of a company's drafts whose send was requested ("An die Buchhaltung senden"
-- wrote send_requested_at) and that were requested or changed in the half-open window [:start, :end).
-- A draft requested while invalid and fixed later is found again by its change time.
-- Bind parameters: :company_id, :start, :end.
SELECT d.id
FROM invoice_drafts d
WHERE d.company_id = :company_id
  AND d.send_requested_at IS NOT NULL
  AND ((d.send_requested_at >= :start AND d.send_requested_at < :end)
       OR (COALESCE(d.updated_at, d.created_at) >= :start AND COALESCE(d.updated_at, d.created_at) < :end))
ORDER BY d.id
