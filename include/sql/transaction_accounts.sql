-- The accounts of one page of transactions, with their bank customer: read once per account, not once per
-- transaction row (lexoffice.source.transactions adds them to each transaction by account_id).
-- Bind parameters: :company_id, :account_ids (expanding; the distinct account ids of one page).
-- account_id first; the other columns complete the transaction frame (frames.TRANSACTIONS).
SELECT
    a.id AS account_id,
    a.company_id,
    bc.name AS company_name,
    a.iban AS account_iban,
    a.name AS account_name,
    a.bank_name AS account_bank_name,
    a.currency AS account_currency,
    a.is_own AS account_is_own,
    a.kind AS account_kind
FROM accounts a
JOIN bank_customers bc ON bc.id = a.company_id
WHERE a.company_id = :company_id
  AND a.id IN :account_ids
