"""Family accounts (亲情账号): links between managers and relatives, and shared credit.

- :mod:`settlement.usecases.family.links`: invite, accept, confirm at the counter, end, proxy
  signing, and who may see or pay a bill.
- :mod:`settlement.usecases.family.sharing`: charges that draw on the relative's line, then the
  managers' (the split decided in :mod:`~settlement.usecases.family.waterfall`).
- :mod:`settlement.usecases.family.rebalance` (pure) and
  :mod:`~settlement.usecases.family.rebalance_write`: after a cancellation or a refund before
  payment, the visit's lines go back to the relative's own line first.
"""
