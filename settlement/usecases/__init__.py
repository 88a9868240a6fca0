"""The use cases: charging, paying, refunding, family, credit, overdue, reporting, notices.

Each reads its facts, decides in pure code and writes the result, inside the caller's unit of
work; none commits. They receive what they use (clock, policies, ports) from the caller.
"""
