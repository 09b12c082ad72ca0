"""ERP ingest: turning files dropped under ``incoming/`` into invoices, payments and customers."""
