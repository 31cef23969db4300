-- Send mode 'requested': which of the given drafts have their send requested right now (checked again just
-- before delivery, so a withdrawn request or a draft staged by a dry run is not sent).
-- Bind parameters: :company_id, :ids (expanding).
SELECT d.id
FROM invoice_drafts d
WHERE d.company_id = :company_id
  AND d.id IN :ids
  AND d.send_requested_at IS NOT NULL
