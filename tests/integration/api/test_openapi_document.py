"""The OpenAPI document is the contract HIS vendors code against: every call with a request and
a response example, its error codes and the envelope they come in, the Idempotency-Key where the
contract requires it, and examples that are true (they validate, their money adds up, their
codes are in the catalogue, and the documented visit is what the service answers)."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import jsonschema_rs  # schemathesis's JSON Schema validator
import pytest

from api.errors import ERROR_CODES
from credit.identity import IdentityError, validate_certno
from insurance.catalogue import load_catalogue
from insurance.pricing import line_amount
from settlement.foundation.db import make_engine
from tests.harness import SEEDS, Service, build_service

ENVELOPE = "#/components/schemas/ErrorEnvelope"
METHODS = {"get", "post", "put", "patch", "delete"}
CATALOGUE = load_catalogue(SEEDS / "catalogue.csv")
API = Path(__file__).resolve().parents[3] / "api"


@pytest.fixture(scope="module")
def document(sqlite_template) -> dict[str, Any]:
    """The document as served (in sandbox mode, so the sandbox calls are in it too)."""
    engine = make_engine(sqlite_template.fresh_url())
    try:
        return build_service(engine).client.get("/openapi.json").json()
    finally:
        engine.dispose()


def operations(document: dict[str, Any]) -> Iterator[tuple[str, str, dict[str, Any]]]:
    for path, item in document["paths"].items():
        for method, operation in item.items():
            if method in METHODS:
                yield method, path, operation


def json_content(holder: dict[str, Any]) -> dict[str, Any] | None:
    return holder.get("content", {}).get("application/json")


def resolve(document: dict[str, Any], schema: dict[str, Any]) -> dict[str, Any]:
    while "$ref" in schema:
        schema = document["components"]["schemas"][schema["$ref"].rsplit("/", 1)[1]]
    return schema


def media_examples(media: dict[str, Any]) -> list[Any]:
    """The examples of a media type: ``example``, or the values of ``examples``."""
    if "example" in media:
        return [media["example"]]
    return [entry["value"] for entry in media.get("examples", {}).values()]


def schema_examples(document: dict[str, Any], schema: dict[str, Any]) -> list[Any]:
    return list(resolve(document, schema).get("examples", []))


def all_examples(document: dict[str, Any]) -> Iterator[tuple[str, dict[str, Any] | None, Any]]:
    """Every example of the document with the schema it illustrates (``None``: none given),
    and where it is."""
    for method, path, operation in operations(document):
        where = f"{method.upper()} {path}"
        for parameter in operation.get("parameters", []):
            for example in parameter.get("schema", {}).get("examples", []):
                yield f"{where} {parameter['name']}", parameter["schema"], example
        body = json_content(operation.get("requestBody", {}))
        if body is not None:
            for example in media_examples(body):
                yield f"{where} request", body.get("schema"), example
        for status, response in operation["responses"].items():
            media = json_content(response)
            if media is not None:
                for example in media_examples(media):
                    yield f"{where} {status}", media.get("schema"), example
    for name, schema in document["components"]["schemas"].items():
        yield from (
            (f"{name}{location}", sub, example)
            for location, sub in subschemas(schema, "")
            for example in sub.get("examples", [])
        )


def subschemas(schema: Any, location: str) -> Iterator[tuple[str, dict[str, Any]]]:
    if isinstance(schema, dict):
        yield location, schema
        for key, value in schema.items():
            if key != "examples":
                yield from subschemas(value, f"{location}.{key}")
    elif isinstance(schema, list):
        for index, value in enumerate(schema):
            yield from subschemas(value, f"{location}[{index}]")


def walk(value: Any) -> Iterator[dict[str, Any]]:
    """Every object inside an example, the example itself included."""
    if isinstance(value, dict):
        yield value
        for inner in value.values():
            yield from walk(inner)
    elif isinstance(value, list):
        for inner in value:
            yield from walk(inner)


# -- errors --------------------------------------------------------------------------------------


def test_no_operation_refers_to_fastapis_validation_error(document):
    text = json.dumps(document)
    assert "HTTPValidationError" not in text
    assert "ValidationError" not in document["components"]["schemas"]
    for method, path, operation in operations(document):
        if operation.get("parameters") or "requestBody" in operation:
            invalid = operation["responses"].get("422")
            assert invalid is not None, (method, path)
            assert "`validation_error`" in invalid["description"], (method, path)
            assert json_content(invalid)["schema"] == {"$ref": ENVELOPE}, (method, path)


def test_every_error_answer_documents_the_envelope_sent_with_an_example_per_code(document):
    for method, path, operation in operations(document):
        for status, response in operation["responses"].items():
            if status[0] not in "45":
                continue
            where = (method, path, status)
            media = json_content(response)
            assert media is not None and media.get("schema"), where
            assert media_examples(media), where
            if media["schema"] != {"$ref": ENVELOPE}:
                continue  # a wallet callback's answer, in the provider's own shape
            listed = {
                code
                for code in re.findall(r"`([a-z_]+)`", response["description"])
                if code in ERROR_CODES
            }
            shown = {example["error"]["code"] for example in media_examples(media)}
            assert listed, where
            assert shown == listed, where
            assert {ERROR_CODES[code][0] for code in listed} == {int(status)}, where


def raised_401_codes(source: Path) -> set[str]:
    codes = set(re.findall(r'ApiError\(\s*"([a-z_]+)"', source.read_text(encoding="utf-8")))
    return {code for code in codes if ERROR_CODES[code][0] == 401}


def test_every_401_lists_each_code_its_authentication_can_answer_with(document):
    his_codes = raised_401_codes(API / "auth.py")
    assert "unknown_hospital" in his_codes  # the scan finds what the code raises
    for method, path, operation in operations(document):
        schemes = {name for requirement in operation.get("security", []) for name in requirement}
        expected = set()
        if "HisSignature" in schemes:
            expected |= his_codes
        if schemes & {"PatientToken", "AdminToken"}:
            expected.add("unauthenticated")
        if not expected:
            continue
        description = operation["responses"]["401"]["description"]
        for code in expected:
            assert f"`{code}`" in description, (method, path, code)


def test_an_unknown_hospital_is_refused_with_a_documented_code(service: Service, document):
    stranger = service.hospitals["H3"]
    stranger.code = "H-NOBODY"
    answer = stranger.get("/his/v1/patients/37140000000000000001/credit")
    assert answer.status_code == 401
    code = answer.json()["error"]["code"]
    assert code == "unknown_hospital"
    operation = document["paths"]["/his/v1/patients/{psn_no}/credit"]["get"]
    assert f"`{code}`" in operation["responses"]["401"]["description"]


# -- idempotency ---------------------------------------------------------------------------------


def contract_requires_key(method: str, path: str) -> bool:
    """api-contract.md: every POST and DELETE under /his/v1, and every payment POST."""
    if path.startswith("/his/v1/"):
        return method in ("post", "delete")
    return method == "post" and path == "/v1/bills/{bill_id}/payments"


def test_the_idempotency_key_is_required_exactly_where_the_contract_requires_it(document):
    keys = {}
    for method, path, operation in operations(document):
        for parameter in operation.get("parameters", []):
            if parameter["name"] == "Idempotency-Key":
                keys[method, path] = parameter
        if contract_requires_key(method, path):
            assert (method, path) in keys, (method, path)
    wrong = [
        (method, path)
        for (method, path), key in keys.items()
        if key.get("required", False) is not contract_requires_key(method, path)
    ]
    assert not wrong
    assert any(key.get("required") for key in keys.values())
    assert not all(key.get("required") for key in keys.values())
    for where, key in keys.items():
        assert key["in"] == "header", where
        assert "Idempotent-Replayed" in key["description"], where
        assert (key["schema"]["minLength"], key["schema"]["maxLength"]) == (1, 64), where


# -- examples ------------------------------------------------------------------------------------


def test_every_operation_has_a_success_example_and_a_request_example(document):
    for method, path, operation in operations(document):
        successes = [
            json_content(response) or {}
            for status, response in operation["responses"].items()
            if status.startswith("2")
        ]
        assert successes, (method, path)
        assert any(
            media_examples(media) or schema_examples(document, media.get("schema", {}))
            for media in successes
        ), (method, path)
        body = json_content(operation.get("requestBody", {}))
        if body is not None:
            assert media_examples(body) or schema_examples(document, body["schema"]), (
                method,
                path,
            )


def test_every_example_validates_against_its_schema(document):
    components = {"schemas": document["components"]["schemas"]}
    failures = []
    count = 0
    for where, schema, example in all_examples(document):
        count += 1
        if schema is None:
            failures.append(f"{where}: an example without a schema")
            continue
        validator = jsonschema_rs.Draft202012Validator(
            {"allOf": [schema], "components": components}
        )
        failures += [f"{where}: {error}" for error in validator.iter_errors(example)]
    assert count > 100
    assert not failures, "\n\n".join(failures)


def amount(value: str) -> Decimal:
    assert re.fullmatch(r"-?\d+\.\d{2}", value), value  # money in answers: exactly 2 places
    return Decimal(value)


def test_the_money_in_the_examples_adds_up(document):
    kinds = {"fee line": 0, "setlinfo": 0, "refund": 0}
    for where, _, example in all_examples(document):
        for item in walk(example):
            if {"pric", "cnt", "det_item_fee_sumamt"} <= item.keys():
                kinds["fee line"] += 1
                total = Decimal(item["det_item_fee_sumamt"])
                assert line_amount(Decimal(item["pric"]), Decimal(item["cnt"])) == total, where
                if "inscp_scp_amt" in item:
                    parts = ("fulamt_ownpay_amt", "overlmt_amt", "preselfpay_amt", "inscp_scp_amt")
                    assert sum(amount(item[part]) for part in parts) == total, where
            if {"medfee_sumamt", "fund_pay_sumamt", "psn_part_amt"} <= item.keys():
                kinds["setlinfo"] += 1
                medfee = amount(item["medfee_sumamt"])
                parts = ("fulamt_ownpay_amt", "overlmt_selfpay", "preselfpay_amt", "inscp_scp_amt")
                assert sum(amount(item[part]) for part in parts) == medfee, where
                psn_part = amount(item["psn_part_amt"])
                assert psn_part == medfee - amount(item["fund_pay_sumamt"]), where
                assert amount(item["acct_pay"]) + amount(item["psn_cash_pay"]) == psn_part, where
                assert amount(item["acct_mulaid_pay"]) <= amount(item["acct_pay"]), where
            if {"refund_amount", "setlinfo", "returned"} <= item.keys():
                kinds["refund"] += 1
                returned = item["returned"]
                assert item["medfee_sumamt"] == item["setlinfo"]["medfee_sumamt"], where
                back = ("hifp_pay", "acct_pay", "psn_cash_pay", "credit_line")
                assert sum(amount(returned[part]) for part in back) == amount(
                    item["refund_amount"]
                ), where
    assert all(kinds.values()), kinds


def test_fee_examples_use_the_seeded_catalogue_within_its_price_caps(document):
    seen = 0
    for where, _, example in all_examples(document):
        for item in walk(example):
            if not {"med_list_codg", "pric"} <= item.keys():
                continue
            seen += 1
            catalogued = CATALOGUE.get(item["med_list_codg"])
            assert catalogued is not None, (where, item["med_list_codg"])
            cap = catalogued.pric_uplmt_amt
            assert cap is None or Decimal(item["pric"]) <= cap, (where, item["med_list_codg"])
            if "chrgitm_lv" in item:
                assert item["chrgitm_lv"] == catalogued.chrgitm_lv, where
                assert item["unlisted"] is False, where
    assert seen


def test_identity_numbers_in_examples_are_valid(document):
    seen = 0
    for where, _, example in all_examples(document):
        values = [example] if isinstance(example, str) else []
        values += [item["certno"] for item in walk(example) if "certno" in item]
        for value in values:
            if isinstance(value, str) and re.fullmatch(r"\d{17}[\dX]", value):
                seen += 1
                try:
                    validate_certno(value)
                except IdentityError as error:
                    pytest.fail(f"{where}: {value}: {error.message}")
    assert seen


# -- the documented visit is what the service answers -------------------------------------------


def example_of(document: dict[str, Any], method: str, path: str, status: str) -> Any:
    operation = document["paths"][path][method]
    if status == "request":
        media = json_content(operation["requestBody"])
    else:
        media = json_content(operation["responses"][status])
    return (media_examples(media) or schema_examples(document, media["schema"]))[0]


def test_the_documented_visit_is_what_the_service_answers(service: Service, document):
    """Open, charge, cancel, presettle, close, read, pay and refund with the documented
    requests: each answer is the documented example, once its generated ids are replaced."""
    service.add_hospital("H37140200001", level=3)
    his = service.hospitals["H37140200001"]
    visit = example_of(document, "post", "/his/v1/visits", "request")
    documented_person = example_of(document, "post", "/his/v1/visits/{mdtrt_id}/presettle", "200")
    person, _ = service.enrol(
        psn_no=visit["psn_no"],
        contribution_months=24,
        balc="100.00",
        ytd_dedc="100.00",
        psn_name=documented_person["setlinfo"]["psn_name"],
        certno=documented_person["setlinfo"]["certno"],
    )
    shown: dict[str, str] = {}  # generated id -> the example's

    def documented(answer, method: str, path: str, status: str) -> None:
        assert answer.status_code == int(status), answer.text
        text = answer.text
        for real, example in shown.items():
            text = text.replace(real, example)
        assert json.loads(text) == example_of(document, method, path, status), (method, path)

    opened = his.post("/his/v1/visits", visit)
    mdtrt_id = opened.json()["mdtrt_id"]
    shown[mdtrt_id] = "MD20261123A1B2C3D4E5F6"
    documented(opened, "post", "/his/v1/visits", "201")
    service.advance(minutes=15)
    batch = example_of(document, "post", "/his/v1/visits/{mdtrt_id}/fees", "request")
    fees = his.post(f"/his/v1/visits/{mdtrt_id}/fees", batch)
    documented(fees, "post", "/his/v1/visits/{mdtrt_id}/fees", "201")
    cancelled = his.delete(f"/his/v1/visits/{mdtrt_id}/fees/F0003")
    documented(cancelled, "delete", "/his/v1/visits/{mdtrt_id}/fees/{feedetl_sn}", "200")
    presettled = his.post(f"/his/v1/visits/{mdtrt_id}/presettle")
    documented(presettled, "post", "/his/v1/visits/{mdtrt_id}/presettle", "200")
    service.advance(minutes=75)
    closed = his.post(f"/his/v1/visits/{mdtrt_id}/close")
    bill_id = closed.json()["bill_id"]
    shown[bill_id] = "BL20261123A1B2C3D4E5F6"
    documented(closed, "post", "/his/v1/visits/{mdtrt_id}/close", "200")
    documented(his.get(f"/his/v1/visits/{mdtrt_id}"), "get", "/his/v1/visits/{mdtrt_id}", "200")

    service.advance(hours=23, minutes=15)  # paid the next morning
    headers = service.login(person)
    paid = service.client.post(
        f"/v1/bills/{bill_id}/payments",
        json=example_of(document, "post", "/v1/bills/{bill_id}/payments", "request"),
        headers={**headers, "Idempotency-Key": "pay-1"},
    )
    payment_id = paid.json()["payment"]["payment_id"]
    shown[payment_id] = "PY20261124A1B2C3D4E5F6"
    shown[paid.json()["setlinfo"]["setl_id"]] = "ST20261124A1B2C3D4E5F6"
    documented(paid, "post", "/v1/bills/{bill_id}/payments", "201")
    confirmed = service.client.get(f"/v1/payments/{payment_id}", headers=headers)
    documented(confirmed, "get", "/v1/payments/{payment_id}", "200")

    service.advance(days=1)
    refund = his.post(
        f"/his/v1/bills/{bill_id}/refunds",
        example_of(document, "post", "/his/v1/bills/{bill_id}/refunds", "request"),
    )
    shown[refund.json()["setlinfo"]["setl_id"]] = "ST20261125F6E5D4C3B2A1"
    documented(refund, "post", "/his/v1/bills/{bill_id}/refunds", "200")
