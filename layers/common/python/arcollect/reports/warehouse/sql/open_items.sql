-- open_items: what is open of each document at the as-of date (credit notes negative), in the order the
-- documents were read: the forecast's input with the pay-date model, and the predictions table's amounts.
SELECT customer_id, invoice_number, currency, due_date, open_now, open_now_scale
FROM {lines}
WHERE state = 'open' AND open_now <> 0
ORDER BY seq
