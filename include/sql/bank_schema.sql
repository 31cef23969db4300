-- Bank source schema: the contract lexoffice-airflow's transaction extraction expects.
--
-- Portable between PostgreSQL (12+) and SQLite (3.35+); idempotent (IF NOT EXISTS). The conventions for
-- ids, timestamps, dates, amounts and booleans are those of fieldservice_schema.sql. Table names do not
-- clash with the field-service schema, so both may live in one database (handy for the demo).

-- The bank's business customers: one row per tenant.
CREATE TABLE IF NOT EXISTS bank_customers (
    id          TEXT PRIMARY KEY,
    name        TEXT,
    updated_at  TIMESTAMP WITH TIME ZONE
);

-- Accounts. Only the bank's own accounts may be sent; accounts connected from another bank through
-- multi-banking (is_own = FALSE) are shown in the bank's app but are not the bank's to export.
CREATE TABLE IF NOT EXISTS accounts (
    id          TEXT PRIMARY KEY,
    company_id  TEXT NOT NULL REFERENCES bank_customers (id),
    iban        TEXT NOT NULL,                 -- identifies the financial account in Lexware Office
    name        TEXT,                          -- e.g. 'Geschäftskonto'
    bank_name   TEXT,                          -- the institution; for multi-banking accounts the other bank
    currency    TEXT NOT NULL,                 -- 'EUR'
    is_own      BOOLEAN NOT NULL,              -- FALSE for accounts connected from another bank
    kind        TEXT NOT NULL CHECK (kind IN ('giro', 'card')),
    updated_at  TIMESTAMP WITH TIME ZONE
);

-- Transactions. A transaction is exported once it is completed; card payments complete days after
-- they are booked. completed_at is the cursor of every window.
CREATE TABLE IF NOT EXISTS transactions (
    id                 TEXT PRIMARY KEY,       -- stable; becomes externalReference in Lexware
    account_id         TEXT NOT NULL REFERENCES accounts (id),
    kind               TEXT NOT NULL,          -- 'transfer', 'direct_debit', 'card', 'fee', ...
    status             TEXT NOT NULL CHECK (status IN ('pending', 'completed', 'declined', 'reversed')),
    amount             NUMERIC,                -- signed: negative = outgoing; at most 2 decimals; not 0
    currency           TEXT,                   -- must be 'EUR'
    booking_date       DATE,                   -- required
    value_date         DATE,                   -- NULL means the booking date
    completed_at       TIMESTAMP WITH TIME ZONE,  -- NULL until completed
    counterparty_name  TEXT,
    counterparty_iban  TEXT,                   -- required for transfers and direct debits; checked (mod 97)
    purpose            TEXT,                   -- Verwendungszweck
    updated_at         TIMESTAMP WITH TIME ZONE
);

CREATE INDEX IF NOT EXISTS ix_accounts_company ON accounts (company_id);
-- Windows page through completed transactions in (completed_at, id) order.
CREATE INDEX IF NOT EXISTS ix_transactions_completed ON transactions (completed_at, id);
-- The Lexware Office page sorts an account's transactions by amount and by counterparty.
CREATE INDEX IF NOT EXISTS ix_transactions_account_amount ON transactions (account_id, amount, id);
CREATE INDEX IF NOT EXISTS ix_transactions_account_counterparty ON transactions (account_id, counterparty_name, id);
