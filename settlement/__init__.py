"""Settlement: storage, the ledger, the unit of work and the use cases (service layer)."""
