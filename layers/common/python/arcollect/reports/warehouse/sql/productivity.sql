-- productivity: per assignee (unassigned when none), the tasks completed in the window and the accounts
-- (customers with a task of theirs open, or completed in the window).
WITH worked AS (
    SELECT
        COALESCE(NULLIF(assignee, ''), 'unassigned') AS who,
        customer_id,
        status <> 'open' AND closed_day > {window_start} AND closed_day <= {as_of} AS done,
        status = 'open' AS still_open
    FROM tasks
)
SELECT
    who,
    COUNT(*) FILTER (WHERE done) AS tasks_completed,
    COUNT(DISTINCT customer_id) FILTER (WHERE done OR still_open) AS accounts
FROM worked
WHERE done OR still_open
GROUP BY who
