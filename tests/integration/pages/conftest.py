"""The patient pages (``/app/``) through the test client, logged in as a person."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import httpx
import pytest

from api.web import session as cookies
from settlement.foundation.ports import PersonRecord
from tests.harness import SECRET_KEY, Service, build_service
from tests.integration.payments.support import login


@pytest.fixture
def service(engine) -> Service:
    svc = build_service(engine)
    svc.add_hospital("H3", level=3)
    return svc


@dataclass
class Browser:
    """One person's browser: their token and a session id in cookies, forms with the CSRF token."""

    service: Service
    token: str
    session_id: str = "test-session-0123456789abcdef"

    @property
    def _cookies(self) -> str:
        return f"{cookies.TOKEN_COOKIE}={self.token}; {cookies.SESSION_COOKIE}={self.session_id}"

    def get(self, path: str) -> httpx.Response:
        return self.service.client.get(path, headers={"Cookie": self._cookies})

    def post(self, path: str, fields: dict[str, Any]) -> httpx.Response:
        form = {"csrf": cookies.csrf_token(SECRET_KEY, self.session_id), **fields}
        return self.service.client.post(
            path, data=form, headers={"Cookie": self._cookies}, follow_redirects=False
        )


def browse(service: Service, person: PersonRecord) -> Browser:
    header = login(service, person)
    return Browser(service, header["Authorization"].removeprefix("Bearer "))
