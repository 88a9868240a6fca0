"""Visits, their fee lines and the bills they close into."""
