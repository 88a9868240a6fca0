"""What the scheduler needs of the process: the use cases' collaborators, the engine (leadership
and the sweeps' own transactions) and the wall clock (leases, purges of expired secrets).

Each sweep declares what it uses itself (``AutoCloseContext``, ``PayingContext`` for auto-pay
and pending orders, ``RemindersContext``, ``OverdueContext``, ``EscalationContext``,
``ExpiryContext``, ``DispatchContext``); this is their union, for the runner that calls them all
and the leadership.

The process that runs the scheduler builds the composition root and hands it in: the
``Container`` satisfies this Protocol, so nothing in ``settlement.scheduler`` imports it.
"""

from __future__ import annotations

from typing import Protocol

from sqlalchemy import Engine

from settlement.foundation.clock import Clock
from settlement.messages.dispatcher import DispatchContext
from settlement.usecases.paying.context import PayingContext


class SchedulerContext(PayingContext, DispatchContext, Protocol):
    @property
    def engine(self) -> Engine: ...

    @property
    def real_clock(self) -> Clock: ...
