-- monthly_sales: each group's credit sales per calendar month up to the as-of date, for the countback
-- DSO (walk back from the month to date, taking each month's sales off ar_total while some is left).
SELECT
    -- the group's dimension (currency, company_code, segment) and name ('' for currency)
    {dimension_and_name},
    currency,
    DATE_TRUNC('month', invoice_date) AS month,
    SUM(amount) AS sales
FROM {lines}
WHERE is_sale
GROUP BY GROUPING SETS (
    (currency, DATE_TRUNC('month', invoice_date)),
    (company_code, currency, DATE_TRUNC('month', invoice_date)),
    (segment, currency, DATE_TRUNC('month', invoice_date))
)
