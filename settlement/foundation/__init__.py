"""The bottom layer: database and ORM base, unit of work, clock, ids, settings, errors, ports.

Nothing here knows a bill, a visit or a patient; every other layer may import it.
"""
