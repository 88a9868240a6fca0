"""A double-entry, two-phase ledger modelled on TigerBeetle."""
