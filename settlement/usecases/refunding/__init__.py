"""Refunds of bill lines (2208), before and after settlement."""
