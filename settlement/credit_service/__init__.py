"""Credit persistence and use cases: decisions, agreement signatures, events, explanations."""

from settlement.credit_service.errors import CreditServiceError
from settlement.credit_service.service import (
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
