"""Family accounts (亲情账号): managers who sign, see, pay and share credit for their relatives.

- :mod:`settlement.family.tables`: the links (invited → active → ended) and the shared holds.
- :mod:`settlement.family.standing`: whether a manager's standing is frozen by a relative's
  overdue shared bill (imported by ``settlement.credit_line``, so it imports little).
- :mod:`settlement.family.credit`: charges that draw on the relative's line, then the managers'.
- :mod:`settlement.family.service`: invite, accept, confirm at the counter, end, proxy signing,
  and who may see or pay a bill.

This package file imports nothing, so the modules above can import each other without cycles.
"""
