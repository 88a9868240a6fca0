"""Every HIS call refuses a replayed request: each route records the nonce before its work.

The signature is verified before a route runs, but the nonce is recorded by the route itself,
first thing (``api.auth.SignedHospital``). A route that forgot to would accept replays, so this
walks every ``/his/v1`` operation of the OpenAPI document, sends its documented example once,
and then sends the very same bytes again.
"""

from __future__ import annotations

import json
import re
import uuid
from typing import Any

import pytest

from settlement.access.signing import new_nonce
from tests.harness import Service

#: Every HIS operation of the contract, and the counter confirmation of family links.
HIS_OPERATIONS = {
    ("GET", "/his/v1/patients/{psn_no}/credit"),
    ("POST", "/his/v1/visits"),
    ("GET", "/his/v1/visits/{mdtrt_id}"),
    ("POST", "/his/v1/visits/{mdtrt_id}/fees"),
    ("DELETE", "/his/v1/visits/{mdtrt_id}/fees/{feedetl_sn}"),
    ("POST", "/his/v1/visits/{mdtrt_id}/presettle"),
    ("POST", "/his/v1/visits/{mdtrt_id}/close"),
    ("POST", "/his/v1/bills/{bill_id}/refunds"),
    ("GET", "/his/v1/bills/{bill_id}"),
    ("DELETE", "/his/v1/visits/{mdtrt_id}/batches/{chrg_bchno}"),
    ("POST", "/his/v1/national"),
    ("GET", "/his/v1/reconciliation"),
    ("POST", "/his/v1/family/confirmations"),
}


def his_operations(document: dict[str, Any]) -> dict[tuple[str, str], dict[str, Any]]:
    return {
        (method.upper(), path): operation
        for path, item in document["paths"].items()
        if path.startswith("/his/v1/")
        for method, operation in item.items()
    }


def example_request(document: dict[str, Any], path: str, operation: dict[str, Any]):
    """The operation's documented example: its path, query string and body."""
    query = []
    for parameter in operation.get("parameters", []):
        examples = parameter.get("schema", {}).get("examples") or parameter.get("examples")
        value = examples[0] if isinstance(examples, list) else "X0000000001"
        if parameter["in"] == "path":
            path = path.replace("{" + parameter["name"] + "}", str(value))
        elif parameter["in"] == "query":
            query.append(f"{parameter['name']}={value}")
    body = b""
    content = operation.get("requestBody", {}).get("content", {}).get("application/json")
    if content is not None:
        name = content["schema"]["$ref"].rsplit("/", 1)[1]
        body = json.dumps(document["components"]["schemas"][name]["examples"][0]).encode()
    return path + ("?" + "&".join(query) if query else ""), body


def test_the_walk_covers_every_his_operation(service: Service):
    document = service.client.get("/openapi.json").json()
    assert set(his_operations(document)) == HIS_OPERATIONS


@pytest.mark.parametrize(("method", "template"), sorted(HIS_OPERATIONS))
def test_a_replay_of_any_his_call_is_refused(service: Service, method: str, template: str):
    document = service.client.get("/openapi.json").json()
    target, body = example_request(document, template, his_operations(document)[method, template])
    assert not re.search(r"[{}]", target), target
    his = service.hospitals["H3"]
    same = {"raw": body, "nonce": new_nonce(), "key": uuid.uuid4().hex}

    first = his.request(method, target, **same)
    replay = his.request(method, target, **same)

    # The first reached the route's work (a 404 for an example visit is fine); the same bytes
    # again are refused before any of it, not answered from the idempotency store.
    assert first.status_code not in (401, 422), first.text
    assert replay.status_code == 401, replay.text
    assert replay.json()["error"]["code"] == "nonce_reused"
    assert "Idempotent-Replayed" not in replay.headers
