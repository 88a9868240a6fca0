"""Family accounts (亲情账号): links between managers and relatives, and shared credit.

- :mod:`settlement.usecases.family.links`: invite, accept, confirm at the counter, end, proxy
  signing, and who may see or pay a bill.
- :mod:`settlement.usecases.family.sharing`: charges that draw on the relative's line, then the
  managers'.
"""
