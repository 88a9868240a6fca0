"""Ledger tables (placeholder until the ledger lands)."""
