"""Family accounts (亲情账号): invitations, links, members and proxy signing."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import ConfigDict, Field, StrictBool, StrictInt
from pydantic.config import JsonDict

from api.schemas.patients import Autopay
from api.schemas.types import Consent, PsnNo, RequestModel, ResponseModel, Text50, Text64

Relation = Literal["spouse", "parent", "child", "other"]
LinkStatus = Literal["invited", "active", "ended"]
RELATION_DESCRIPTION = (
    "What the relative is to the manager: `spouse`, `parent`, `child` or `other`. Mutual aid "
    "(the manager's personal account paying, `acct_mulaid_pay`) applies to spouse, parent and "
    "child only."
)
CertNo = Annotated[
    str,
    Field(
        min_length=1,
        max_length=32,
        description="The relative's resident ID number (18 characters); a malformed one is "
        "`invalid_certno`, one that is not the insurance record's of `psn_no` is "
        "`identity_mismatch`",
        examples=["371402195803120017"],
    ),
]
InvitationId = Annotated[str, Field(examples=["FL20261123A1B2C3D4E5F6"])]


class FamilyInvitationCreate(RequestModel):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "psn_no": "37140000000000000002",
                    "certno": "371402195803120017",
                    "relation": "parent",
                }
            ]
        },
    )

    psn_no: PsnNo = Field(description="The relative's insured person number")
    certno: CertNo
    relation: Relation = Field(description=RELATION_DESCRIPTION)


class FamilyLinkPublic(ResponseModel):
    """An invitation or link between a manager and a relative."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "invitation_id": "FL20261123A1B2C3D4E5F6",
                    "manager_psn_no": "37140000000000000001",
                    "relative_psn_no": "37140000000000000002",
                    "relation": "parent",
                    "status": "active",
                    "invited_at": "2026-11-23T09:30:00+08:00",
                    "accepted_via": "counter",
                    "accepted_hospital_code": "H37140200001",
                    "accepted_at": "2026-11-23T10:05:00+08:00",
                    "ended_at": None,
                }
            ]
        },
    )

    invitation_id: InvitationId
    manager_psn_no: str
    relative_psn_no: str
    relation: Relation = Field(description=RELATION_DESCRIPTION)
    status: LinkStatus = Field(
        description="`invited` (waiting for the relative), `active` or `ended`"
    )
    invited_at: str
    accepted_via: Literal["app", "counter"] | None = Field(
        description="`app`: the relative accepted with their own login; `counter`: hospital "
        "staff confirmed it in person"
    )
    accepted_hospital_code: str | None = None
    accepted_at: str | None = None
    ended_at: str | None = None


#: One invitation as the relative reads it: the example of an invitation and of a list of them.
INVITATION_EXAMPLE: JsonDict = {
    "invitation_id": "FL20261123A1B2C3D4E5F6",
    "manager_psn_no": "37140000000000000001",
    "relative_psn_no": "37140000000000000002",
    "relation": "parent",
    "status": "invited",
    "invited_at": "2026-11-23T09:30:00+08:00",
    "accepted_via": None,
    "accepted_hospital_code": None,
    "accepted_at": None,
    "ended_at": None,
    "manager_name": "张*",
    "manager_relation": "child",
}


class FamilyInvitationPublic(FamilyLinkPublic):
    """An invitation waiting for the relative's answer, with who sends it."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={"examples": [INVITATION_EXAMPLE]},
    )

    manager_name: str = Field(
        description="The inviting manager's name, masked: the first character only",
        examples=["张*"],
    )
    manager_relation: Relation = Field(
        description="What the manager is to you, the invitee (`relation` seen from your side: "
        "a manager who invited their `parent` is that parent's `child`)"
    )


class FamilyInvitationListPublic(ResponseModel):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={"examples": [{"invitations": [INVITATION_EXAMPLE]}]},
    )

    invitations: list[FamilyInvitationPublic]


class FamilyAccept(RequestModel):
    """Nothing is needed: the token says who accepts."""


class CounterConfirmation(RequestModel):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "invitation_id": "FL20261123A1B2C3D4E5F6",
                    "staff_id": "S0042",
                    "certno_checked": True,
                },
                {
                    "manager_psn_no": "37140000000000000001",
                    "relative_psn_no": "37140000000000000002",
                    "staff_id": "S0042",
                    "certno_checked": True,
                },
            ]
        },
    )

    invitation_id: InvitationId | None = Field(
        default=None, description="The invitation; or give both psn_no fields instead"
    )
    manager_psn_no: PsnNo | None = None
    relative_psn_no: PsnNo | None = None
    staff_id: Text64 = Field(description="The staff member who checked the relative's ID card")
    certno_checked: Consent = Field(
        description="Must be the JSON true: the staff member saw the relative's ID card"
    )


class FamilyMemberPublic(ResponseModel):
    """One person linked to the caller; the ID number masked."""

    psn_no: str
    psn_name: str = Field(
        description="In full for your relatives (you manage them); masked, the first character "
        "only, for your managers",
        examples=["张*"],
    )
    certno: str = Field(description="Masked", examples=["3714**********0017"])
    relation: Relation = Field(description=RELATION_DESCRIPTION)
    status: LinkStatus
    invitation_id: InvitationId
    since: str = Field(description="When the link became active, or the invitation was sent")
    mutual_aid: bool = Field(
        default=False,
        description="Family mutual aid (家庭共济) is bound on this link: the manager's personal "
        "account pays the relative's personal share when the manager pays their bill. The "
        "manager turns it on and off (`PUT /v1/family/members/{psn_no}/mutual-aid`); it is off "
        "until then",
    )


class FamilyMembersPublic(ResponseModel):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "relatives": [
                        {
                            "psn_no": "37140000000000000002",
                            "psn_name": "李*",
                            "certno": "3714**********0017",
                            "relation": "parent",
                            "status": "active",
                            "invitation_id": "FL20261123A1B2C3D4E5F6",
                            "since": "2026-11-23T10:05:00+08:00",
                            "mutual_aid": True,
                        }
                    ],
                    "managers": [],
                }
            ]
        },
    )

    relatives: list[FamilyMemberPublic] = Field(description="The relatives you manage")
    managers: list[FamilyMemberPublic] = Field(description="Your own family managers")


class ProxyAgreementSign(RequestModel):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "certno": "371402195803120017",
                    "psn_name": "李四",
                    "version": 1,
                    "accept": True,
                    "autopay": "off",
                }
            ]
        },
    )

    certno: CertNo
    psn_name: Annotated[Text50, Field(description="The relative's name", examples=["李四"])]
    version: StrictInt = Field(ge=1, description="The version read from the current agreement")
    accept: Consent
    autopay: Autopay = Field(description="Withholding (无感支付) for the relative's bills")


class MutualAidUpdate(RequestModel):
    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [{"enabled": True}]})

    enabled: StrictBool = Field(
        description="`true` binds the relative for family mutual aid (a standing consent: your "
        "personal account pays their personal share whenever you pay a bill of theirs); "
        "`false` ends it"
    )


class MutualAidPublic(ResponseModel):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "psn_no": "37140000000000000002",
                    "relation": "parent",
                    "enabled": True,
                    "since": "2026-11-23T10:05:00+08:00",
                }
            ]
        },
    )

    psn_no: str = Field(description="The relative")
    relation: Relation = Field(description=RELATION_DESCRIPTION)
    enabled: bool = Field(description="Whether mutual aid is bound")
    since: str | None = Field(description="Since when it is bound; `null` when it is not")
