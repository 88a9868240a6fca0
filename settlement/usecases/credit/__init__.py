"""Credit persistence and use cases: decisions, agreement signatures, events, explanations."""

from settlement.usecases.credit.decisions import (
    CreditConfig,
    credit_standing,
    current_agreement,
    current_decision,
    explain,
    load_credit_config,
    preview_decision,
    record_event,
    revoke_agreement,
    sign_agreement,
    signature_in_force,
)
from settlement.usecases.credit.errors import CreditServiceError

__all__ = [
    "CreditConfig",
    "CreditServiceError",
    "credit_standing",
    "current_agreement",
    "current_decision",
    "explain",
    "load_credit_config",
    "preview_decision",
    "record_event",
    "revoke_agreement",
    "sign_agreement",
    "signature_in_force",
]
