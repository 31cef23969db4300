-- The lines of one page of drafts, in print order.
-- Bind parameters: :draft_ids (expanding; at most one page of draft ids).
SELECT
    l.id,
    l.draft_id,
    l.position,
    l.type,
    l.name,
    l.description,
    l.quantity,
    l.unit_name,
    l.unit_price,
    l.price_kind,
    l.tax_rate,
    l.discount_percentage
FROM invoice_draft_lines l
WHERE l.draft_id IN :draft_ids
ORDER BY l.draft_id, l.position
