-- lines: every document dated on or before the as-of date, with what happened to it by then
-- (the Python reference: reports/kpis.py, _timeline and _unexplained_closure).
-- Payments count on their date, each invoice what was applied to it; what of the stored state no dated
-- payment explains is one dated reduction (a closed document: its closed_on, not paid, else its
-- paid_date, paid; an open one below amount - payments: the day of the file that said so, not paid).
-- The reductions of a document are taken in order of day (payments before a closure of the same day),
-- and it is settled (and, by a payment or paid_date, paid) on the day they reach its amount.
-- *_scale: the decimal places Python's Decimal keeps for each figure (the most of its terms).
WITH docs AS (
    SELECT *
    FROM invoices
    WHERE invoice_month <= {as_of_month} AND invoice_date <= {as_of}
),
applied AS (
    SELECT customer_id, invoice_number, payment_date AS day, payment_id, allocated, amount, amount_scale
    FROM payments
    WHERE payment_month <= {as_of_month} AND payment_date <= {as_of}
),
paid_ever AS (
    SELECT customer_id, invoice_number, SUM(amount) AS paid, MAX(amount_scale) AS paid_scale
    FROM applied
    GROUP BY customer_id, invoice_number
),
-- The activity figures' paid date (reports/activity.py, paid_dates): the day the allocated payments
-- reach the invoice's amount, in order of date, payment id and amount; else the ERP's paid date.
allocated_running AS (
    SELECT
        a.customer_id,
        a.invoice_number,
        a.day,
        SUM(a.amount) OVER (
            PARTITION BY a.customer_id, a.invoice_number
            ORDER BY a.day, a.payment_id, a.amount
            ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW
        ) AS cumulative
    FROM applied AS a
    WHERE a.allocated
),
allocated_paid AS (
    SELECT r.customer_id, r.invoice_number, MIN(r.day) FILTER (WHERE r.cumulative >= d.amount) AS paid_on
    FROM allocated_running AS r
    JOIN docs AS d ON d.customer_id = r.customer_id AND d.invoice_number = r.invoice_number
    WHERE d.amount > 0
    GROUP BY r.customer_id, r.invoice_number
),
reckoned AS (
    SELECT
        d.customer_id,
        d.invoice_number,
        d.status,
        d.closed_on,
        d.paid_date,
        d.source_as_of_day,
        d.amount - COALESCE(p.paid, 0)
            - CASE WHEN d.status = 'closed' OR d.open_amount < 0 THEN 0 ELSE d.open_amount END AS missing,
        GREATEST(
            d.amount_scale,
            COALESCE(p.paid_scale, 0),
            CASE WHEN d.status = 'closed' OR d.open_amount < 0 THEN 0 ELSE d.open_amount_scale END
        ) AS missing_scale
    FROM docs AS d
    LEFT JOIN paid_ever AS p ON p.customer_id = d.customer_id AND p.invoice_number = d.invoice_number
),
closures AS (
    SELECT
        customer_id,
        invoice_number,
        CASE
            WHEN status = 'closed' AND closed_on IS NOT NULL THEN closed_on
            WHEN status = 'closed' AND paid_date IS NOT NULL THEN paid_date
            ELSE source_as_of_day
        END AS day,
        missing AS amount,
        missing_scale AS amount_scale,
        status = 'closed' AND closed_on IS NULL AND paid_date IS NOT NULL AS counts_as_paid
    FROM reckoned
    WHERE missing > 0
),
events AS (
    SELECT customer_id, invoice_number, day, 0 AS ord, amount, amount_scale, TRUE AS counts_as_paid
    FROM applied
    UNION ALL
    SELECT customer_id, invoice_number, day, 1 AS ord, amount, amount_scale, counts_as_paid
    FROM closures
    WHERE day IS NOT NULL AND day <= {as_of}
),
running AS (
    SELECT
        e.*,
        d.amount AS document_amount,
        SUM(e.amount) OVER (
            PARTITION BY e.customer_id, e.invoice_number
            ORDER BY e.day, e.ord, e.amount
            ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW
        ) AS cumulative,
        ROW_NUMBER() OVER (
            PARTITION BY e.customer_id, e.invoice_number ORDER BY e.day, e.ord, e.amount
        ) AS position
    FROM events AS e
    JOIN docs AS d ON d.customer_id = e.customer_id AND d.invoice_number = e.invoice_number
),
histories AS (
    SELECT
        customer_id,
        invoice_number,
        SUM(amount) AS paid_by_as_of,
        MAX(amount_scale) AS paid_by_as_of_scale,
        SUM(amount) FILTER (WHERE day <= {window_start}) AS paid_by_begin,
        MAX(amount_scale) FILTER (WHERE day <= {window_start}) AS paid_by_begin_scale,
        SUM(amount) FILTER (WHERE day > {window_start} AND ord = 0) AS collected,
        MAX(amount_scale) FILTER (WHERE day > {window_start} AND ord = 0) AS collected_scale,
        MIN(day) FILTER (WHERE cumulative >= document_amount) AS settled_on,
        MIN_BY(counts_as_paid, position) FILTER (WHERE cumulative >= document_amount) AS settled_by_payment
    FROM running
    GROUP BY customer_id, invoice_number
),
reckoning AS (
    SELECT
        d.seq,
        d.customer_id,
        d.invoice_number,
        d.currency,
        COALESCE(NULLIF(d.company_code, ''), '(none)') AS company_code,
        COALESCE(s.segment, {no_profile_segment}) AS segment,
        d.document_type,
        d.document_type = 'invoice' AS is_sale,
        CASE WHEN d.document_type = 'invoice' THEN 1 ELSE -1 END AS sign,
        d.amount,
        d.amount_scale,
        d.invoice_date,
        d.due_date,
        d.invoice_date > {window_start} AS in_window,
        DATE_DIFF('day', d.due_date, {as_of}) AS days_past_due,
        COALESCE(h.paid_by_as_of, 0) AS paid_by_as_of,
        COALESCE(h.paid_by_as_of_scale, 0) AS paid_by_as_of_scale,
        COALESCE(h.paid_by_begin, 0) AS paid_by_begin,
        COALESCE(h.paid_by_begin_scale, 0) AS paid_by_begin_scale,
        COALESCE(h.collected, 0) AS collected,
        COALESCE(h.collected_scale, 0) AS collected_scale,
        CASE WHEN h.settled_by_payment THEN h.settled_on END AS paid_on,
        -- reports/activity.py, paid_dates: the ERP's paid date only once nothing is left open (an open
        -- invoice's paid date is a partial payment's, Invoice.paid_in_full_on)
        COALESCE(
            ap.paid_on,
            CASE
                WHEN d.paid_date <= {as_of} AND NOT (d.status = 'open' AND d.open_amount > 0) THEN d.paid_date
            END
        ) AS activity_paid_on
    FROM docs AS d
    LEFT JOIN histories AS h ON h.customer_id = d.customer_id AND h.invoice_number = d.invoice_number
    LEFT JOIN allocated_paid AS ap ON ap.customer_id = d.customer_id AND ap.invoice_number = d.invoice_number
    LEFT JOIN {segments} AS s ON s.customer_id = d.customer_id
)
SELECT
    r.*,
    GREATEST(r.amount - r.paid_by_as_of, 0) * r.sign AS open_now,
    GREATEST(r.amount_scale, r.paid_by_as_of_scale) AS open_now_scale,
    CASE
        WHEN r.invoice_date <= {window_start} THEN GREATEST(r.amount - r.paid_by_begin, 0) * r.sign
        ELSE 0
    END AS open_then,
    CASE
        WHEN r.invoice_date <= {window_start} AND r.amount >= r.paid_by_begin
            THEN GREATEST(r.amount_scale, r.paid_by_begin_scale)
        ELSE 0
    END AS open_then_scale,
    CASE
        WHEN r.days_past_due <= 0 THEN 'current'
        WHEN r.days_past_due <= 30 THEN 'd1_30'
        WHEN r.days_past_due <= 60 THEN 'd31_60'
        WHEN r.days_past_due <= 90 THEN 'd61_90'
        ELSE 'd91_plus'
    END AS bucket,
    CASE WHEN r.is_sale AND r.paid_on IS NOT NULL
        THEN GREATEST(DATE_DIFF('day', r.due_date, r.paid_on), 0) END AS days_late,
    CASE WHEN r.is_sale AND r.paid_on IS NOT NULL
        THEN DATE_DIFF('day', r.invoice_date, r.paid_on) END AS days_to_pay,
    -- open (something open at the as-of date), paid (an invoice settled by payment: it has days late;
    -- never open, as what settled it covers its amount) or settled. The last column: Athena's
    -- materialized lines are partitioned by it, so the queries on open or paid lines read only those.
    CASE
        WHEN GREATEST(r.amount - r.paid_by_as_of, 0) <> 0 THEN 'open'
        WHEN r.is_sale AND r.paid_on IS NOT NULL THEN 'paid'
        ELSE 'settled'
    END AS state
FROM reckoning AS r
