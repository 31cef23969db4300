-- A manual selection: the given transactions of one bank customer in any status (validation reports
-- those that are not completed). Ids of other customers are not returned.
-- Bind parameters: :company_id, :ids (expanding; at most one page of ids per call).
-- The select list must stay identical to transactions_window.sql (tests compare them).
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
    t.updated_at,
    a.company_id,
    bc.name AS company_name,
    a.iban AS account_iban,
    a.name AS account_name,
    a.bank_name AS account_bank_name,
    a.currency AS account_currency,
    a.is_own AS account_is_own,
    a.kind AS account_kind
FROM transactions t
JOIN accounts a ON a.id = t.account_id
JOIN bank_customers bc ON bc.id = a.company_id
WHERE a.company_id = :company_id
  AND t.id IN :ids
ORDER BY t.id
