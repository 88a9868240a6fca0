"""What every national call's translation is given, and the national formats of its answer."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from zoneinfo import ZoneInfo

from api.national.schemas import NATIONAL_TIME_FORMAT
from settlement.access.hospitals import Hospital
from settlement.bootstrap import Container
from settlement.foundation.errors import ServiceError


@dataclass(frozen=True, slots=True)
class NationalCall:
    """One national call: the signing hospital, the envelope's ``msgid``, the region's zone."""

    container: Container
    hospital: Hospital
    msgid: str

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.container.settings.timezone)

    def placed(self, local: datetime) -> datetime:
        """A national time (naive, the region's wall clock) as an aware time."""
        return local.replace(tzinfo=self.zone)

    def national_time(self, moment: datetime | None) -> str:
        """``yyyy-MM-dd HH:mm:ss`` in the region's zone; empty for no time."""
        if moment is None:
            return ""
        return moment.astimezone(self.zone).strftime(NATIONAL_TIME_FORMAT)

    def now(self) -> datetime:
        return self.container.clock.now()


def same_patient(psn_no: str, expected: str, what: str) -> None:
    """Refuse a national input whose ``psn_no`` is not the patient of the visit or bill."""
    if psn_no != expected:
        raise ServiceError(
            "validation_error",
            f"psn_no {psn_no} is not the patient of {what}",
            fields=[
                {"path": "input.data.psn_no", "message": "not this patient's", "type": "value"}
            ],
        )
