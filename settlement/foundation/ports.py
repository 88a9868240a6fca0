"""Ports to the insurance platform (person lookup, national 1101) and the credit platform."""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Protocol

from insurance.money import ZERO


@dataclass(frozen=True, slots=True)
class PersonRecord:
    """A person as the insurance platform reports them (national 1101 ``baseinfo``/``insuinfo``).

    ``status`` is the insurance status (``active`` or ``suspended``); ``balc`` the personal
    account balance; ``ytd_*`` what this policy year has already used.
    """

    psn_no: str
    psn_name: str
    certno: str
    phone: str
    insutype: str
    psn_type: str
    status: str
    balc: Decimal
    insuplc_admdvs: str
    ytd_act_pay_dedc: Decimal = ZERO
    ytd_hifp_pay: Decimal = ZERO

    @property
    def insured_active(self) -> bool:
        return self.status == "active"


@dataclass(frozen=True, slots=True)
class CreditReport:
    """The credit platform's answer: public credit rating, dishonest-debtor flag, contributions."""

    rating: str
    dishonest: bool
    contribution_months: int


@dataclass(frozen=True, slots=True)
class OverdueReport:
    """A report of an overdue bill sent to the credit platform."""

    psn_no: str
    certno: str
    bill_id: str
    amount: Decimal
    reported_at: datetime


@dataclass(frozen=True, slots=True)
class AccountMovement:
    """A personal-account movement the platform made, as it answers a call or a query by key.

    ``direction``: ``debit`` (a settlement takes) or ``credit`` (a reversal gives back);
    ``balance``: the account's balance right after this movement.
    """

    key: str
    psn_no: str
    direction: str
    amount: Decimal
    balance: Decimal


class OutcomeUnknown(Exception):
    """The platform's answer to a movement was lost (timed out, connection dropped after the
    request left): it may or may not have moved the money. Resolve it by :meth:`movement`,
    never by calling again blind."""

    def __init__(self, key: str) -> None:
        super().__init__(f"the platform's answer to movement {key} was lost")
        self.key = key


class InsurancePlatform(Protocol):
    #: ``True`` when the platform writes in the caller's transaction (the sandbox's default): a
    #: rollback undoes its movements too, so nothing needs resolving. A remote platform is
    #: ``False``: its movements stand whatever becomes of ours (``settlement.usecases.movements``).
    shares_transaction: bool

    def lookup_person(self, psn_no: str) -> PersonRecord | None:
        """The person's record (national 1101), or ``None`` if the platform does not know them."""
        ...

    def lookup_persons(self, psn_nos: Collection[str]) -> dict[str, PersonRecord]:
        """The records of those of ``psn_nos`` the platform knows, by ``psn_no`` (a group of
        charges looks its patients up together)."""
        ...

    def debit_personal_account(self, psn_no: str, amount: Decimal, *, key: str) -> Decimal:
        """Take ``amount`` from the personal account (a settlement); returns the balance after.

        ``key`` is the movement's idempotency key (national: the settlement id): a repeat with
        a key already used moves nothing and answers as the first call did. Raises
        :class:`OutcomeUnknown` when the answer was lost, ``ServiceError`` when refused (nothing
        moved)."""
        ...

    def credit_personal_account(self, psn_no: str, amount: Decimal, *, key: str) -> Decimal:
        """Give ``amount`` back to the personal account (a reversal); returns the balance after.
        ``key`` as for :meth:`debit_personal_account`."""
        ...

    def movement(self, key: str) -> AccountMovement | None:
        """The movement made with ``key``, or ``None`` when the platform made none (a known
        answer). Raises :class:`OutcomeUnknown` when the platform cannot be asked now."""
        ...


class CreditPlatform(Protocol):
    def rating(self, certno: str) -> CreditReport | None:
        """The person's credit report, or ``None`` if the platform has no record."""
        ...

    def report_overdue(self, report: OverdueReport) -> bool:
        """Send an overdue report; ``False`` if this bill was already reported (nothing sent)."""
        ...
