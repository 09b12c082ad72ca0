"""Dunning: the reminder rules engine, run by the hourly schedule, and the SES events that come back."""
