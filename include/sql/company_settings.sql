-- The field-service company's settings that decide whether its drafts may go to Lexware Office at all:
-- the accounting feature ("Rechnungswesen") licensed, and Lexware Office chosen as accounting software.
-- Delivery's preflight checks them before anything is sent. Bind parameters: :company_id.
SELECT c.id, c.name, c.accounting_licensed, c.accounting_software
FROM companies c
WHERE c.id = :company_id
