"""The page talks to the API in-process, with the patient's own bearer token.

Every page and action is a call to the same ``/v1`` route an app would make: the same token
check, the same service functions, the same authorization and idempotency. A page therefore
never shows what the API would refuse.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import httpx
from fastapi import Request

from api.logs import current_request_id

INTERNAL_BASE_URL = "http://shuxin.internal"


@dataclass(frozen=True)
class ApiAnswer:
    status: int
    body: Any

    @property
    def ok(self) -> bool:
        return 200 <= self.status < 300

    @property
    def error_code(self) -> str:
        if isinstance(self.body, dict) and isinstance(self.body.get("error"), dict):
            return str(self.body["error"].get("code", ""))
        return ""

    @property
    def error(self) -> dict[str, Any]:
        if isinstance(self.body, dict) and isinstance(self.body.get("error"), dict):
            return dict(self.body["error"])
        return {}


class ApiClient:
    """Calls the application's own API for one browser request, as that browser's patient."""

    def __init__(self, request: Request, token: str | None) -> None:
        self._request = request
        self._token = token

    async def call(
        self,
        method: str,
        path: str,
        *,
        json: Any = None,
        idempotency_key: str | None = None,
        params: dict[str, str] | None = None,
    ) -> ApiAnswer:
        headers = {"User-Agent": self._request.headers.get("user-agent", "shuxin-web")[:400]}
        if self._token:
            headers["Authorization"] = f"Bearer {self._token}"
        if idempotency_key:
            headers["Idempotency-Key"] = idempotency_key
        request_id = current_request_id()
        if request_id is not None:  # the page's call is part of the browser's request
            headers["X-Request-ID"] = request_id
        # The caller's address is kept, so a signature records the browser, not this process.
        peer = self._request.client
        client_addr = (peer.host, peer.port) if peer is not None else ("127.0.0.1", 0)
        transport = httpx.ASGITransport(app=self._request.app, client=client_addr)
        async with httpx.AsyncClient(transport=transport, base_url=INTERNAL_BASE_URL) as client:
            response = await client.request(method, path, json=json, headers=headers, params=params)
        try:
            body = response.json()
        except ValueError:
            body = None
        return ApiAnswer(response.status_code, body)

    async def get(self, path: str, params: dict[str, str] | None = None) -> ApiAnswer:
        return await self.call("GET", path, params=params)

    async def post(self, path: str, json: Any, *, idempotency_key: str | None = None) -> ApiAnswer:
        return await self.call("POST", path, json=json, idempotency_key=idempotency_key)

    async def delete(self, path: str, *, idempotency_key: str | None = None) -> ApiAnswer:
        return await self.call("DELETE", path, idempotency_key=idempotency_key)
