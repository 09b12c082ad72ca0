-- forecast: the 13-week cash forecast on the customer-average rule (Python reference:
-- reports/forecast.py). Each open item is expected on its due date plus its customer's average days late
-- (the portfolio's without history), rounded half up to whole days, never before the day after the
-- as-of date; weeks run as_of+1 .. as_of+7 and so on, and what falls after week 13 is left out (its
-- currency is still listed: week -1 below). Averages are whole numbers rounded half up in integers:
-- round(a / n) = floor((2a + n) / 2n) for a >= 0, written (x - x mod y) / y so that DuckDB (whose / is
-- a float division) and Athena (an integer one) divide exactly alike.
WITH history AS (
    SELECT customer_id, SUM(days_late) AS days_late, COUNT(*) AS paid
    FROM {lines}
    WHERE state = 'paid' AND days_late IS NOT NULL
    GROUP BY customer_id
),
-- The portfolio's average from the customers' sums: the paid lines are read once.
portfolio AS (
    SELECT
        CASE WHEN COALESCE(SUM(paid), 0) = 0 THEN 0
            ELSE CAST(
                ((2 * SUM(days_late) + SUM(paid)) - MOD(2 * SUM(days_late) + SUM(paid), 2 * SUM(paid)))
                / (2 * SUM(paid)) AS BIGINT
            ) END AS delay_days
    FROM history
),
expected AS (
    SELECT
        l.currency,
        l.open_now,
        l.open_now_scale,
        GREATEST(
            CAST(
                l.due_date + COALESCE(
                    CAST(
                        ((2 * h.days_late + h.paid) - MOD(2 * h.days_late + h.paid, 2 * h.paid)) / (2 * h.paid)
                        AS BIGINT
                    ),
                    p.delay_days
                ) * INTERVAL '1' DAY AS DATE
            ),
            {first_day}
        ) AS day
    FROM {lines} AS l
    LEFT JOIN history AS h ON h.customer_id = l.customer_id
    CROSS JOIN portfolio AS p
    WHERE l.state = 'open' AND l.open_now <> 0
),
weeks AS (
    SELECT
        currency,
        open_now,
        open_now_scale,
        CAST(
            (DATE_DIFF('day', {first_day}, day) - MOD(DATE_DIFF('day', {first_day}, day), 7)) / 7 AS BIGINT
        ) AS week
    FROM expected
)
SELECT
    currency,
    CASE WHEN week < {weeks} THEN week ELSE -1 END AS week,
    SUM(open_now) AS expected,
    MAX(open_now_scale) AS expected_scale
FROM weeks
GROUP BY currency, CASE WHEN week < {weeks} THEN week ELSE -1 END
