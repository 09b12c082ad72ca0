-- activity: how collections worked over the report's window (window_start, as_of] (Python reference:
-- reports/activity.py): promises settled kept / broken, disputes opened and resolved and the resolved
-- ones' summed age, dunning touches (per customer, per invoice), SES deliveries and bounces.
SELECT
    (SELECT COUNT(*) FROM promises
        WHERE settled_month >= {window_start_month} AND settled_day > {window_start} AND settled_day <= {as_of}
            AND status = 'kept') AS promises_kept,
    (SELECT COUNT(*) FROM promises
        WHERE settled_month >= {window_start_month} AND settled_day > {window_start} AND settled_day <= {as_of}
            AND status = 'broken') AS promises_broken,
    (SELECT COUNT(*) FROM disputes
        WHERE created_month >= {window_start_month} AND created_day > {window_start} AND created_day <= {as_of}) AS disputes_opened,
    (SELECT COUNT(*) FROM disputes
        WHERE resolved_day > {window_start} AND resolved_day <= {as_of}) AS disputes_resolved,
    (SELECT SUM(DATE_DIFF('millisecond', created_at, resolved_at)) FROM disputes
        WHERE resolved_day > {window_start} AND resolved_day <= {as_of}) AS dispute_age_milliseconds,
    (SELECT COUNT(*) FROM touches
        WHERE touch_month >= {window_start_month} AND day > {window_start} AND day <= {as_of}) AS touches,
    (SELECT COUNT(DISTINCT customer_id) FROM touches
        WHERE touch_month >= {window_start_month} AND day > {window_start} AND day <= {as_of}) AS customers_touched,
    (SELECT COUNT(*) FROM (
        SELECT DISTINCT customer_id, invoice_number FROM touches
        WHERE touch_month >= {window_start_month} AND day > {window_start} AND day <= {as_of}
    ) AS touched) AS invoices_touched,
    (SELECT COUNT(*) FROM events
        WHERE event_month >= {window_start_month} AND day > {window_start} AND day <= {as_of}
            AND kind = 'email_delivery') AS emails_delivered,
    (SELECT COUNT(*) FROM events
        WHERE event_month >= {window_start_month} AND day > {window_start} AND day <= {as_of}
            AND kind = 'email_bounce') AS emails_bounced
