"""The sandbox prints a hospital's signing secret once, when it creates it (issue 17, item 9),
and says where to read it again: ``shuxin hospital secret CODE`` or the admin rotation call."""

from __future__ import annotations

import re

from api.cli import main
from settlement.bootstrap import bootstrap
from settlement.foundation.clock import AdjustableClock
from settlement.foundation.config import Settings
from settlement.seeding import seed_on_start
from tests.e2e.server import postgres_schema_url
from tests.harness import SECRET_KEY

SECRET = re.compile(r"hospital (H\w+) \(level \d\) secret ([0-9a-f]{64})")


def database_url(engine, postgres_database) -> str:
    if postgres_database is not None:
        return postgres_schema_url(postgres_database.url, postgres_database.schema)
    return engine.url.render_as_string(hide_password=False)


def test_secrets_are_printed_when_created_and_never_again_and_the_command_reads_one(
    engine, postgres_database, monkeypatch, capsys
):
    settings = Settings(database_url="sqlite://", secret_key=SECRET_KEY, mode="sandbox")
    container = bootstrap(settings, engine=engine, clock=AdjustableClock())
    first = "\n".join(seed_on_start(container))
    secrets = dict(SECRET.findall(first))
    assert len(secrets) == 4
    again = "\n".join(seed_on_start(container))
    assert SECRET.findall(again) == []
    assert not re.search(r"[0-9a-f]{64}", again)
    assert "shuxin hospital secret CODE" in again
    assert "POST /admin/v1/hospitals/CODE/secret" in again
    for code in secrets:
        assert f"hospital {code}" in again

    monkeypatch.setenv("SHUXIN_DATABASE_URL", database_url(engine, postgres_database))
    monkeypatch.setenv("SHUXIN_SECRET_KEY", SECRET_KEY)
    monkeypatch.setenv("SHUXIN_MODE", "sandbox")
    code, secret = next(iter(secrets.items()))
    capsys.readouterr()
    assert main(["hospital", "secret", code]) == 0
    assert capsys.readouterr().out.strip() == secret
    assert main(["hospital", "secret", "HNOSUCH"]) == 1
