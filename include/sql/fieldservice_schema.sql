-- Field-service source schema: the contract lexoffice-airflow's invoice extraction expects.
--
-- Portable between PostgreSQL (12+) and SQLite (3.35+). lexoffice.source.schema.create_schema runs it one
-- statement at a time; every statement is idempotent (IF NOT EXISTS), so running it twice changes nothing.
-- docs/sources.md explains every column and which validation rule reads it.
--
-- Conventions
--   ids         TEXT, non-empty and stable. Numbers, UUIDs or "C001-D000042" all work; paging compares ids
--               as text, so zero-padded numbers keep a natural order.
--   timestamps  TIMESTAMP WITH TIME ZONE. PostgreSQL stores timestamptz. SQLite has no timestamp type: the
--               column holds UTC text 'YYYY-MM-DD HH:MM:SS.ffffff' (SQLAlchemy's SQLite format, written and
--               read by lexoffice.source.timestamps.UtcDateTime), so text order is time order in WHERE clauses.
--   dates       DATE. SQLite: text 'YYYY-MM-DD'. Unparsable text is reported by validation, not a crash.
--   amounts     NUMERIC without scale: extra decimals must reach validation instead of being rounded away.
--   booleans    BOOLEAN. SQLite stores 0/1.
--   texts       NULL and '' both mean "not given".

-- The field-service customer's own business: one row per tenant. Its master data must be complete
-- before its drafts may go to Lexware Office (the PestScan rule), though none of it is sent.
CREATE TABLE IF NOT EXISTS companies (
    id                   TEXT PRIMARY KEY,
    name                 TEXT,                 -- legal name as printed on invoices
    street               TEXT,                 -- street and house number
    zip                  TEXT,                 -- postcode (text: leading zeros matter)
    city                 TEXT,
    country_code         TEXT,                 -- ISO 3166-1 alpha-2, e.g. 'DE'
    tax_number           TEXT,                 -- Steuernummer; this or vat_id is required
    vat_id               TEXT,                 -- USt-IdNr., e.g. 'DE123456789'
    accounting_licensed  BOOLEAN NOT NULL DEFAULT FALSE,  -- licence includes the "Rechnungswesen" feature
    accounting_software  TEXT,                 -- 'lexoffice', 'datev', ... or NULL when none is chosen
    updated_at           TIMESTAMP WITH TIME ZONE
);

-- The company's customers: the invoice address and the Lexware contact come from here.
CREATE TABLE IF NOT EXISTS customers (
    id            TEXT PRIMARY KEY,
    company_id    TEXT NOT NULL REFERENCES companies (id),
    kind          TEXT NOT NULL CHECK (kind IN ('company', 'person')),
    company_name  TEXT,                        -- required when kind = 'company'
    salutation    TEXT,                        -- 'Herr', 'Frau', ...; at most 25 characters
    first_name    TEXT,                        -- person, or the contact person of a company
    last_name     TEXT,                        -- required when kind = 'person'
    street        TEXT,                        -- billing address: street, zip and city are required
    zip           TEXT,
    city          TEXT,
    country_code  TEXT,                        -- ISO 3166-1 alpha-2, required
    email         TEXT,                        -- optional; must be well-formed when given
    vat_id        TEXT,                        -- optional; must be well-formed when given
    updated_at    TIMESTAMP WITH TIME ZONE
);

-- Completed work orders: drafts with origin 'work_order' come from one of these.
CREATE TABLE IF NOT EXISTS work_orders (
    id            TEXT PRIMARY KEY,
    company_id    TEXT NOT NULL REFERENCES companies (id),
    customer_id   TEXT REFERENCES customers (id),
    number        TEXT,                        -- shown in the invoice reference, e.g. 'WO-881'
    description   TEXT,
    completed_at  TIMESTAMP WITH TIME ZONE,
    updated_at    TIMESTAMP WITH TIME ZONE
);

-- Service contracts: drafts with origin 'contract' are billed from one of these.
CREATE TABLE IF NOT EXISTS contracts (
    id           TEXT PRIMARY KEY,
    company_id   TEXT NOT NULL REFERENCES companies (id),
    customer_id  TEXT REFERENCES customers (id),
    number       TEXT,                         -- shown in the invoice reference, e.g. 'V-2025-0012'
    description  TEXT,
    valid_from   DATE,
    valid_until  DATE,
    updated_at   TIMESTAMP WITH TIME ZONE
);

-- Invoice drafts: one becomes one Lexware invoice draft.
CREATE TABLE IF NOT EXISTS invoice_drafts (
    id                    TEXT PRIMARY KEY,
    company_id            TEXT NOT NULL REFERENCES companies (id),
    customer_id           TEXT REFERENCES customers (id),      -- NULL is reported (CUSTOMER_MISSING)
    number                TEXT,                -- the draft's own number, e.g. 'RE-2025-0042'
    origin                TEXT NOT NULL CHECK (origin IN ('work_order', 'contract', 'manual')),
    work_order_id         TEXT REFERENCES work_orders (id),    -- set when origin = 'work_order'
    contract_id           TEXT REFERENCES contracts (id),      -- set when origin = 'contract'
    voucher_date          DATE,                -- invoice date; required
    title                 TEXT,                -- at most 25 characters; Lexware prints 'Rechnung' when empty
    introduction          TEXT,                -- at most 2000 characters
    remark                TEXT,                -- at most 2000 characters including the reference line we append
    currency              TEXT,                -- must be 'EUR'
    tax_type              TEXT NOT NULL CHECK (tax_type IN ('net', 'gross')),
    service_date          DATE,                -- Leistungsdatum, or
    service_period_start  DATE,                -- Leistungszeitraum start and
    service_period_end    DATE,                -- end (both or neither)
    created_at            TIMESTAMP WITH TIME ZONE NOT NULL,
    updated_at            TIMESTAMP WITH TIME ZONE, -- NULL until changed; windows read COALESCE(updated_at, created_at)
    send_requested_at     TIMESTAMP WITH TIME ZONE, -- optional: set by "An die Buchhaltung senden" (send mode 'requested')
    source_gross_total    NUMERIC                   -- optional: the gross total the source system shows (compared, not sent)
);

-- Nightly runs of tenants in send mode 'requested' look for drafts whose send was requested.
CREATE INDEX IF NOT EXISTS ix_invoice_drafts_company_requested
    ON invoice_drafts (company_id, send_requested_at);

-- Draft lines, in print order.
CREATE TABLE IF NOT EXISTS invoice_draft_lines (
    id                   TEXT PRIMARY KEY,
    draft_id             TEXT NOT NULL REFERENCES invoice_drafts (id),
    position             INTEGER NOT NULL,     -- print order, unique per draft
    type                 TEXT NOT NULL CHECK (type IN ('custom', 'text')),
    name                 TEXT,                 -- required; at most 255 characters
    description          TEXT,                 -- at most 2000 characters
    quantity             NUMERIC,              -- custom lines: > 0 and < 1,000,000, at most 4 decimals
    unit_name            TEXT,                 -- custom lines: required ('Stück', 'Stunde', ...)
    unit_price           NUMERIC,              -- custom lines: 0 .. 10,000,000, at most 4 decimals
    price_kind           TEXT CHECK (price_kind IN ('net', 'gross')),  -- must equal the draft's tax_type
    tax_rate             NUMERIC,              -- percent: 0/7/19 (0/5/16 for relevant dates in 2020-07..12)
    discount_percentage  NUMERIC,              -- 0 .. 100, at most 2 decimals; NULL means 0
    UNIQUE (draft_id, position)
);

-- Windows page through one company's drafts in (COALESCE(updated_at, created_at), id) order.
CREATE INDEX IF NOT EXISTS ix_invoice_drafts_company_event
    ON invoice_drafts (company_id, (COALESCE(updated_at, created_at)), id);
-- The Lexware Office page sorts a company's drafts by number and by voucher date (keyset pages on (…, id)).
CREATE INDEX IF NOT EXISTS ix_invoice_drafts_company_number ON invoice_drafts (company_id, number, id);
CREATE INDEX IF NOT EXISTS ix_invoice_drafts_company_voucher_date ON invoice_drafts (company_id, voucher_date, id);
