-- delay_history: each customer's invoices paid by the as-of date and their summed days late (early
-- counts 0): the risk list's average days late and the forecast's expected delay.
SELECT customer_id, SUM(days_late) AS days_late, COUNT(*) AS paid
FROM {lines}
WHERE state = 'paid' AND days_late IS NOT NULL
GROUP BY customer_id
