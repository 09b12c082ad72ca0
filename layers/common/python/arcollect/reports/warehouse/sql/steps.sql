-- steps: per policy step (a repeat counts as its step), the invoices it touched in the window (the
-- first touch of each) and how many were paid in full within {paid_within_days} days of that touch. An invoice is paid
-- the day its allocated payments reach its amount, else on the ERP's paid date.
WITH allocated AS (
    SELECT
        p.customer_id,
        p.invoice_number,
        p.payment_date,
        SUM(p.amount) OVER (
            PARTITION BY p.customer_id, p.invoice_number
            ORDER BY p.payment_date, p.payment_id, p.amount
            ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW
        ) AS cumulative,
        i.amount AS document_amount
    FROM payments AS p
    JOIN invoices AS i ON i.customer_id = p.customer_id AND i.invoice_number = p.invoice_number
    WHERE p.allocated
),
paid AS (
    SELECT
        i.customer_id,
        i.invoice_number,
        COALESCE(MIN(a.payment_date) FILTER (WHERE a.cumulative >= a.document_amount AND a.document_amount > 0),
            MIN(i.paid_date)) AS paid_on
    FROM invoices AS i
    LEFT JOIN allocated AS a ON a.customer_id = i.customer_id AND a.invoice_number = i.invoice_number
    GROUP BY i.customer_id, i.invoice_number
),
first_touches AS (
    SELECT SPLIT_PART(step, '#', 1) AS step, customer_id, invoice_number, MIN(day) AS day
    FROM touches
    WHERE day > {window_start} AND day <= {as_of}
    GROUP BY SPLIT_PART(step, '#', 1), customer_id, invoice_number
)
SELECT
    t.step,
    COUNT(*) AS invoices,
    COUNT(*) FILTER (
        WHERE p.paid_on >= t.day AND p.paid_on <= t.day + INTERVAL '{paid_within_days}' DAY
    ) AS paid_within_7_days
FROM first_touches AS t
LEFT JOIN paid AS p ON p.customer_id = t.customer_id AND p.invoice_number = t.invoice_number
GROUP BY t.step
