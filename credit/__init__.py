"""Credit: scorecard, hard eligibility rules, reason codes and credit events.

Pure domain code: plain values in, plain values out; no database, no HTTP.
"""
