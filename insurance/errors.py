"""Typed insurance errors: each has a stable ``code`` and names the field that is wrong."""

from __future__ import annotations

from pathlib import Path


class InsuranceError(ValueError):
    """Base of every refusal of the insurance domain.

    ``code`` is stable (the API maps it to its error body); ``field`` names what is wrong, using the
    national field name where there is one (``pric``, ``cnt``, ``psn_type``...).
    """

    code = "insurance_error"

    def __init__(self, message: str, *, field: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.field = field

    def details(self) -> dict[str, str]:
        """The error as plain strings, for an API error body or a command line."""
        result = {"code": self.code, "message": self.message}
        if self.field is not None:
            result["field"] = self.field
        return result


class InvalidAmountError(InsuranceError):
    """An amount, price or count that is negative, absurd, a float or not a number."""

    code = "invalid_amount"


class TooManyPlacesError(InvalidAmountError):
    """An amount with more places than allowed (2 for money, 6 for ``pric``, 4 for ``cnt``)."""

    code = "too_many_places"


class UnknownHospitalLevelError(InsuranceError):
    """A hospital level the policy has no pooled ratio for."""

    code = "unknown_hospital_level"


class UnknownPersonTypeError(InsuranceError):
    """A ``psn_type`` the policy has no pooled ratio or cap for."""

    code = "unknown_psn_type"


class NoPolicyInForceError(InsuranceError):
    """No regional policy covers the visit date."""

    code = "no_policy_in_force"


class AccumulatorYearMismatchError(InsuranceError):
    """The accumulators given belong to another policy year than the visit date's."""

    code = "accumulator_year_mismatch"


class DuplicateFeeLineError(InsuranceError):
    """Two lines of one bill share a ``feedetl_sn``."""

    code = "duplicate_fee"


class UnknownFeeLineError(InsuranceError):
    """A refund names a ``feedetl_sn`` that the settlement does not contain."""

    code = "unknown_fee_line"


class InvalidFeeLineError(InsuranceError):
    """A fee line that is malformed in a way other than its amounts (an empty code, say)."""

    code = "invalid_fee_line"


class PolicyError(InsuranceError):
    """A policy file that cannot be loaded: names the file, the field and the reason."""

    code = "invalid_policy"

    def __init__(self, file: Path | str, field: str, reason: str) -> None:
        super().__init__(f"{file}: {field}: {reason}", field=field)
        self.file = str(file)
        self.reason = reason


class CatalogueError(InsuranceError):
    """A catalogue row that cannot be loaded: names the file, the row, the field and the reason."""

    code = "invalid_catalogue"

    def __init__(self, file: Path | str, row: int, field: str, reason: str) -> None:
        super().__init__(f"{file}: row {row}: {field}: {reason}", field=field)
        self.file = str(file)
        self.row = row
        self.reason = reason
