"""Bill states and the transitions allowed between them, in one place.

::

    billed ──pay──▶ paying ──confirmed──▶ settled ──refund all──▶ refunded
      │  ▲            │failed
      │  └────────────┘
      ├──deadline──▶ overdue ──pay──▶ paying_late ──confirmed──▶ settled_late
      └──refund all lines (before paying)──▶ refunded

An empty visit closes straight into ``settled``.
"""

from __future__ import annotations

from settlement.foundation.errors import ServiceError

BILLED = "billed"
PAYING = "paying"
SETTLED = "settled"
OVERDUE = "overdue"
PAYING_LATE = "paying_late"
SETTLED_LATE = "settled_late"
REFUNDED = "refunded"

ALLOWED: dict[str, frozenset[str]] = {
    BILLED: frozenset({PAYING, SETTLED, OVERDUE, REFUNDED}),
    PAYING: frozenset({SETTLED, BILLED, OVERDUE, PAYING_LATE}),
    OVERDUE: frozenset({PAYING_LATE, SETTLED_LATE, REFUNDED}),
    PAYING_LATE: frozenset({SETTLED_LATE, OVERDUE}),
    SETTLED: frozenset({REFUNDED}),
    SETTLED_LATE: frozenset({REFUNDED}),
    REFUNDED: frozenset(),
}
#: The patient still owes money on a bill in these states.
UNPAID = frozenset({BILLED, PAYING, OVERDUE, PAYING_LATE})
PAID = frozenset({SETTLED, SETTLED_LATE})
#: Past the deadline and still unpaid (a payment may be under way).
OVERDUE_UNPAID = frozenset({OVERDUE, PAYING_LATE})
#: The patient (or a family manager) can start paying it now.
PAYABLE = frozenset({BILLED, OVERDUE})
#: A payment is under way: the provider's answer has not landed yet.
IN_PAYMENT = frozenset({PAYING, PAYING_LATE})


def check_transition(current: str, target: str) -> None:
    """Refuse a transition the state machine does not allow."""
    if target not in ALLOWED.get(current, frozenset()):
        code = "bill_settled" if current in PAID else "conflict"
        raise ServiceError(code, f"a bill that is {current} cannot become {target}")
