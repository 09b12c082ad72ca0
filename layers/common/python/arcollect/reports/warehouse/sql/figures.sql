-- figures: the sums behind every KPI of one group, per currency, per company code and per segment
-- (Python reference: reports/kpis.py, compute_kpis and _Figures). Over the report's window
-- (window_start, as_of]:
--   ar_total, ar_current, ar_past_due, aging_*: what is open at the as-of date (credit notes negative),
--     current when not past its due date; open_invoices: how many documents are open;
--   credit_sales: invoices dated in the window; write_offs: write-offs dated in the window;
--   ar_begin: what was open at the window's start; collected: payments dated in the window;
--   paid, days_to_pay, days_late: invoices paid (by payments or the ERP's paid date) in the window,
--     and their summed days from invoice date and past due date (early counts 0).
-- The ratios are taken of these sums by the one Python formula (_Figures.document):
--   DSO = ar_total / credit_sales x window_days; best possible DSO = ar_current / credit_sales x window_days;
--   ADD = DSO - best possible DSO; CEI = (ar_begin + credit_sales - ar_total)
--   / (ar_begin + credit_sales - ar_current) x 100; countback DSO from monthly_sales.sql.
SELECT
    -- the group's dimension (currency, company_code, segment) and name ('' for currency)
    {dimension_and_name},
    currency,
    COALESCE(SUM(open_now) FILTER (WHERE open_now <> 0), 0) AS ar_total,
    COALESCE(MAX(open_now_scale) FILTER (WHERE open_now <> 0), 0) AS ar_total_scale,
    COALESCE(SUM(open_now) FILTER (WHERE open_now <> 0 AND days_past_due <= 0), 0) AS ar_current,
    COALESCE(MAX(open_now_scale) FILTER (WHERE open_now <> 0 AND days_past_due <= 0), 0) AS ar_current_scale,
    COALESCE(SUM(open_now) FILTER (WHERE open_now <> 0 AND days_past_due > 0), 0) AS ar_past_due,
    COALESCE(MAX(open_now_scale) FILTER (WHERE open_now <> 0 AND days_past_due > 0), 0) AS ar_past_due_scale,
    COALESCE(SUM(open_now) FILTER (WHERE open_now <> 0 AND bucket = 'current'), 0) AS aging_current,
    COALESCE(MAX(open_now_scale) FILTER (WHERE open_now <> 0 AND bucket = 'current'), 0)
        AS aging_current_scale,
    COALESCE(SUM(open_now) FILTER (WHERE open_now <> 0 AND bucket = 'd1_30'), 0) AS aging_d1_30,
    COALESCE(MAX(open_now_scale) FILTER (WHERE open_now <> 0 AND bucket = 'd1_30'), 0) AS aging_d1_30_scale,
    COALESCE(SUM(open_now) FILTER (WHERE open_now <> 0 AND bucket = 'd31_60'), 0) AS aging_d31_60,
    COALESCE(MAX(open_now_scale) FILTER (WHERE open_now <> 0 AND bucket = 'd31_60'), 0) AS aging_d31_60_scale,
    COALESCE(SUM(open_now) FILTER (WHERE open_now <> 0 AND bucket = 'd61_90'), 0) AS aging_d61_90,
    COALESCE(MAX(open_now_scale) FILTER (WHERE open_now <> 0 AND bucket = 'd61_90'), 0) AS aging_d61_90_scale,
    COALESCE(SUM(open_now) FILTER (WHERE open_now <> 0 AND bucket = 'd91_plus'), 0) AS aging_d91_plus,
    COALESCE(MAX(open_now_scale) FILTER (WHERE open_now <> 0 AND bucket = 'd91_plus'), 0)
        AS aging_d91_plus_scale,
    COUNT(*) FILTER (WHERE open_now <> 0) AS open_invoices,
    COALESCE(SUM(amount) FILTER (WHERE is_sale AND in_window), 0) AS credit_sales,
    COALESCE(MAX(amount_scale) FILTER (WHERE is_sale AND in_window), 0) AS credit_sales_scale,
    COALESCE(SUM(amount) FILTER (WHERE document_type = 'write_off' AND in_window), 0) AS write_offs,
    COALESCE(MAX(amount_scale) FILTER (WHERE document_type = 'write_off' AND in_window), 0)
        AS write_offs_scale,
    SUM(open_then) AS ar_begin,
    MAX(open_then_scale) AS ar_begin_scale,
    SUM(collected) AS collected,
    MAX(collected_scale) AS collected_scale,
    COUNT(*) FILTER (WHERE paid_on > {window_start} AND is_sale) AS paid,
    COALESCE(SUM(days_to_pay) FILTER (WHERE paid_on > {window_start}), 0) AS days_to_pay,
    COALESCE(SUM(days_late) FILTER (WHERE paid_on > {window_start}), 0) AS days_late
FROM {lines}
-- One pass over the lines for the three dimensions (Athena bills each scan of a table).
GROUP BY GROUPING SETS ((currency), (company_code, currency), (segment, currency))
