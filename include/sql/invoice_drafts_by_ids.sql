-- A manual selection: the given drafts of one company, whatever their time. Ids of other companies are
-- not returned. The caller sends at most one page of ids per call (expanding bind parameter).
-- Bind parameters: :company_id, :ids (expanding).
-- The select list must stay identical to invoice_drafts_window.sql (tests compare them).
SELECT
    d.id,
    d.company_id,
    d.customer_id,
    d.number,
    d.origin,
    d.work_order_id,
    d.contract_id,
    wo.number AS work_order_number,
    ct.number AS contract_number,
    d.voucher_date,
    d.title,
    d.introduction,
    d.remark,
    d.currency,
    d.tax_type,
    d.service_date,
    d.service_period_start,
    d.service_period_end,
    d.created_at,
    d.updated_at,
    COALESCE(d.updated_at, d.created_at) AS event_at,
    co.name AS company_name,
    co.street AS company_street,
    co.zip AS company_zip,
    co.city AS company_city,
    co.country_code AS company_country_code,
    co.tax_number AS company_tax_number,
    co.vat_id AS company_vat_id,
    co.accounting_licensed AS company_accounting_licensed,
    co.accounting_software AS company_accounting_software,
    cu.id AS customer_found_id,
    cu.kind AS customer_kind,
    cu.company_name AS customer_company_name,
    cu.salutation AS customer_salutation,
    cu.first_name AS customer_first_name,
    cu.last_name AS customer_last_name,
    cu.street AS customer_street,
    cu.zip AS customer_zip,
    cu.city AS customer_city,
    cu.country_code AS customer_country_code,
    cu.email AS customer_email,
    cu.vat_id AS customer_vat_id
FROM invoice_drafts d
JOIN companies co ON co.id = d.company_id
LEFT JOIN customers cu ON cu.id = d.customer_id AND cu.company_id = d.company_id
LEFT JOIN work_orders wo ON wo.id = d.work_order_id AND wo.company_id = d.company_id
LEFT JOIN contracts ct ON ct.id = d.contract_id AND ct.company_id = d.company_id
WHERE d.company_id = :company_id
  AND d.id IN :ids
ORDER BY d.id
