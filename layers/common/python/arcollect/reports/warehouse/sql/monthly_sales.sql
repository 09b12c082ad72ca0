-- monthly_sales: each group's credit sales per calendar month up to the as-of date, for the countback
-- DSO (walk back from the month to date, taking each month's sales off ar_total while some is left).
WITH grouped AS (
    SELECT 'currency' AS dimension, '' AS name, l.* FROM lines AS l
    UNION ALL
    SELECT 'company_code' AS dimension, l.company_code AS name, l.* FROM lines AS l
    UNION ALL
    SELECT 'segment' AS dimension, l.segment AS name, l.* FROM lines AS l
)
SELECT dimension, name, currency, DATE_TRUNC('month', invoice_date) AS month, SUM(amount) AS sales
FROM grouped
WHERE is_sale
GROUP BY dimension, name, currency, DATE_TRUNC('month', invoice_date)
