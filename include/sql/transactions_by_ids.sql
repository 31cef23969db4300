-- A manual selection: the given transactions of one bank customer in any status (validation reports
-- those that are not completed). Ids of other customers are not returned.
-- Bind parameters: :company_id, :ids (expanding; at most one page of ids per call).
-- The account's columns come from transaction_accounts.sql, once per account of a page (not once per
-- transaction). The select list must stay identical to transactions_window.sql (tests compare them).
SELECT
    t.id,
    t.account_id,
    t.kind,
    t.status,
    t.amount,
    t.currency,
    t.booking_date,
    t.value_date,
    t.completed_at,
    t.counterparty_name,
    t.counterparty_iban,
    t.purpose,
    t.updated_at
FROM transactions t
JOIN accounts a ON a.id = t.account_id
WHERE a.company_id = :company_id
  AND t.id IN :ids
ORDER BY t.id
