"""Charging (2201-2206 and close): visits, charge batches held on the credit line, bills."""
