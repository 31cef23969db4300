-- One page of a bank customer's transactions completed in the half-open window [:start, :end).
--
-- The cursor is completed_at: a card payment counts once it is completed, so pending ones (completed_at
-- NULL) are never read by a window. Keyset paging in (completed_at, id) order, served by
-- ix_transactions_completed; the first page binds :after_completed_at = :start and :after_id = ''.
-- Bind parameters: :company_id, :start, :end, :after_completed_at, :after_id, :page_size.
-- The select list must stay identical to transactions_by_ids.sql (tests compare them).
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
  AND t.completed_at >= :start
  AND t.completed_at < :end
  AND (t.completed_at, t.id) > (:after_completed_at, :after_id)
ORDER BY t.completed_at, t.id
LIMIT :page_size
