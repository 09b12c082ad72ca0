-- exposures: the customers (one row per currency) with a positive balance at the as-of date, most past
-- due first, then the largest balance, then the customer id: the risk list's first 50.
SELECT
    customer_id,
    currency,
    SUM(open_now) AS ar_total,
    MAX(open_now_scale) AS ar_total_scale,
    COALESCE(SUM(open_now) FILTER (WHERE days_past_due > 0), 0) AS ar_past_due,
    COALESCE(MAX(open_now_scale) FILTER (WHERE days_past_due > 0), 0) AS ar_past_due_scale,
    COALESCE(MAX(days_past_due) FILTER (WHERE days_past_due > 0 AND open_now > 0), 0) AS oldest_days_past_due
FROM {lines}
WHERE state = 'open' AND open_now <> 0
GROUP BY customer_id, currency
HAVING SUM(open_now) > 0
ORDER BY ar_past_due DESC, ar_total DESC, customer_id, currency
LIMIT 50
