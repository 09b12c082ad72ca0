-- steps: per policy step (a repeat counts as its step), the invoices it touched in the window (the
-- first touch of each) and how many were paid in full within {paid_within_days} days of that touch. An invoice is paid
-- the day its allocated payments reach its amount, else on the ERP's paid date, as known at the as-of
-- date (lines.sql's activity_paid_on).
WITH first_touches AS (
    SELECT SPLIT_PART(step, '#', 1) AS step, customer_id, invoice_number, MIN(day) AS day
    FROM touches
    WHERE touch_month >= {window_start_month} AND day > {window_start} AND day <= {as_of}
    GROUP BY SPLIT_PART(step, '#', 1), customer_id, invoice_number
)
SELECT
    t.step,
    COUNT(*) AS invoices,
    COUNT(*) FILTER (
        WHERE l.activity_paid_on >= t.day AND l.activity_paid_on <= t.day + INTERVAL '{paid_within_days}' DAY
    ) AS paid_within_7_days
FROM first_touches AS t
LEFT JOIN {lines} AS l ON l.customer_id = t.customer_id AND l.invoice_number = t.invoice_number
GROUP BY t.step
