"""A double-entry, two-phase ledger modelled on TigerBeetle.

Call it through :mod:`settlement.ledger.ledger` (accounts, transfers, reversals) and
:mod:`settlement.ledger.verify` (``shuxin ledger verify``). Errors are in
:mod:`settlement.ledger.errors`, each with a stable ``code``.
"""
