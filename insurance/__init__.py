"""Insurance rules: regional policy, the catalogue, fee pricing and the settlement split.

Pure domain code: plain values in, plain values out; no database, no HTTP.
"""
