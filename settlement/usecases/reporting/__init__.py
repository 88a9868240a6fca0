"""Read-only figures: the operators' daily report and each hospital's reconciliation."""
