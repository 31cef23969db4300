-- One page of a bank customer's transactions completed in the half-open window [:start, :end).
--
-- The cursor is completed_at: a card payment counts once it is completed, so pending ones (completed_at
-- NULL) are never read by a window. Accounts connected from another bank (multi-banking, is_own false) are out
-- of scope and not read at all (transactions_out_of_scope.sql counts them for the report); a selection by id
-- still reads them and validation says why they are not sent. Keyset paging in (completed_at, id) order, served by
-- ix_transactions_completed; the first page binds :after_completed_at = :start and :after_id = ''.
-- Bind parameters: :company_id, :start, :end, :after_completed_at, :after_id, :page_size.
-- The account's columns come from transaction_accounts.sql, once per account of a page (not once per
-- transaction). The select list must stay identical to transactions_by_ids.sql (tests compare them).
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
  AND a.is_own
  AND t.completed_at >= :start
  AND t.completed_at < :end
  AND (t.completed_at, t.id) > (:after_completed_at, :after_id)
ORDER BY t.completed_at, t.id
LIMIT :page_size
