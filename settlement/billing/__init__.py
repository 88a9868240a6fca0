"""Billing records: visits, fee lines, bills and their states, settlements, accumulators, the
catalogue, family links and credit decisions as stored, with the queries over them.

Use cases (``settlement.usecases``) read and write these; nothing here decides anything.
"""
