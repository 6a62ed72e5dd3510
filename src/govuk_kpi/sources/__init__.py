"""Readers of GOV.UK content and usage data: plain records, nothing of the database."""
