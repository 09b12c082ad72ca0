"""KPI reports for managers, written to the reports bucket."""
