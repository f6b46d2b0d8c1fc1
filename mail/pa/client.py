"""Async client of a PA's Flow and Directory services (AFNOR XP Z12-013, Annexes A and B).

OAuth2 client credentials: one token, cached until shortly before it expires, fetched again
once when the PA answers 401. Errors::

    PaError                    any failure talking to the PA
    ├── PaUnavailable          network error, timeout, 429, 5xx: try again later
    └── PaRefused              the PA refused the request (400, 403, 413, 422...): permanent

Secrets never reach the logs: the client secret is held as a `SecretStr`-like value and
the bearer token is not logged.
"""

from __future__ import annotations

import hashlib
import json
import logging
import time
from dataclasses import dataclass, field
from typing import Any

import httpx

__all__ = [
    "FlowInfo",
    "PaClient",
    "PaConfig",
    "PaError",
    "PaRefused",
    "PaUnavailable",
    "sha256_hex",
]

log = logging.getLogger(__name__)


class PaError(Exception):
    """Talking to the PA failed."""

    def __init__(self, message: str, status: int | None = None, code: str = "") -> None:
        super().__init__(message)
        self.status = status
        self.code = code


class PaUnavailable(PaError):
    """Transient: the PA is down, slow, rate-limiting or erring on its side."""


class PaRefused(PaError):
    """Permanent: the PA refused what we sent."""


@dataclass(frozen=True)
class PaConfig:
    """Plain values from the settings (the secret is repr-hidden)."""

    flow_url: str
    token_url: str
    client_id: str
    client_secret: str = field(repr=False)
    directory_url: str = ""
    organization_id: str = ""
    timeout: float = 30.0


@dataclass(frozen=True)
class FlowInfo:
    """The `flowInfo` part of `POST /v1/flows` (XP Z12-013 `FlowInfo` schema)."""

    name: str
    flow_syntax: str  # CII, UBL, Factur-X, CDAR, FRR
    tracking_id: str
    sha256: str
    processing_rule: str = "B2B"
    flow_profile: str | None = None

    def as_json(self) -> dict[str, str]:
        body = {
            "name": self.name,
            "flowSyntax": self.flow_syntax,
            "trackingId": self.tracking_id,
            "sha256": self.sha256,
            "processingRule": self.processing_rule,
        }
        if self.flow_profile:
            body["flowProfile"] = self.flow_profile
        return body


def sha256_hex(content: bytes) -> str:
    return hashlib.sha256(content).hexdigest()


def _error(response: httpx.Response) -> PaError:
    try:
        body = response.json()
        code = str(body.get("errorCode", "")) if isinstance(body, dict) else ""
        message = str(body.get("errorMessage", "")) if isinstance(body, dict) else ""
    except ValueError:
        code, message = "", response.text[:200]
    text = (
        f"PA answered {response.status_code}"
        + (f" {code}" if code else "")
        + (f": {message}" if message else "")
    )
    if response.status_code == 429 or response.status_code >= 500:
        return PaUnavailable(text, response.status_code, code)
    return PaRefused(text, response.status_code, code)


class PaClient:
    """One connection pool and one cached token per PA. Use as an async context manager."""

    def __init__(self, config: PaConfig, *, transport: httpx.AsyncBaseTransport | None = None) -> None:
        self.config = config
        self._http = httpx.AsyncClient(timeout=config.timeout, transport=transport)
        self._token: str | None = None
        self._token_expires = 0.0
        self.token_fetches = 0

    async def __aenter__(self) -> PaClient:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        await self._http.aclose()

    # ------------------------------------------------------------------ token

    async def _fetch_token(self) -> str:
        try:
            response = await self._http.post(
                self.config.token_url,
                data={"grant_type": "client_credentials"},
                auth=(self.config.client_id, self.config.client_secret),
            )
        except httpx.HTTPError as exc:
            raise PaUnavailable(f"PA token endpoint unreachable: {type(exc).__name__}") from None
        if response.status_code != 200:
            raise _error(response)
        body = response.json()
        token = str(body.get("access_token") or "")
        if not token:
            raise PaRefused("PA token endpoint answered without an access_token")
        expires_in = float(body.get("expires_in") or 300)
        self._token = token
        self._token_expires = time.monotonic() + max(expires_in - 30, expires_in / 2)
        self.token_fetches += 1
        return token

    async def _bearer(self, fresh: bool = False) -> str:
        if fresh or self._token is None or time.monotonic() >= self._token_expires:
            return await self._fetch_token()
        return self._token

    async def _request(self, method: str, url: str, **kwargs: Any) -> httpx.Response:
        """One call with the cached token; on 401 one more with a fresh token."""
        for fresh in (False, True):
            headers = {"Authorization": f"Bearer {await self._bearer(fresh)}"}
            if self.config.organization_id:
                headers["Organization-Id"] = self.config.organization_id
            try:
                response = await self._http.request(method, url, headers=headers, **kwargs)
            except httpx.HTTPError as exc:
                raise PaUnavailable(f"PA unreachable: {type(exc).__name__}") from None
            if response.status_code != 401:
                break
            self._token = None
        if response.status_code >= 400:
            raise _error(response)
        return response

    def _flow(self, path: str) -> str:
        return self.config.flow_url.rstrip("/") + path

    def _directory(self, path: str) -> str:
        base = self.config.directory_url or self.config.flow_url
        return base.rstrip("/") + path

    # ------------------------------------------------------------------ Flow service

    async def submit_flow(self, content: bytes, info: FlowInfo, mimetype: str) -> dict[str, Any]:
        """`POST /v1/flows` (multipart: `file` + `flowInfo` JSON); the PA's `FullFlowInfo`."""
        files = {
            "flowInfo": (None, json.dumps(info.as_json()), "application/json"),
            "file": (info.name, content, mimetype),
        }
        response = await self._request("POST", self._flow("/v1/flows"), files=files)
        body: dict[str, Any] = response.json()
        if not body.get("flowId"):
            raise PaRefused("PA accepted the flow without a flowId")
        return body

    async def search_flows(self, where: dict[str, Any], limit: int = 100) -> list[dict[str, Any]]:
        """`POST /v1/flows/search` (criteria in `where`, e.g. updatedAfter, trackingId)."""
        response = await self._request(
            "POST", self._flow("/v1/flows/search"), json={"limit": limit, "where": where}
        )
        results = response.json().get("results") or []
        return [r for r in results if isinstance(r, dict)]

    async def find_by_tracking_id(self, tracking_id: str) -> dict[str, Any] | None:
        found = await self.search_flows({"trackingId": tracking_id}, limit=1)
        return found[0] if found else None

    async def download(self, flow_id: str, doc_type: str = "Original") -> bytes:
        """`GET /v1/flows/{flowId}?docType=Original` — the file of a flow."""
        response = await self._request(
            "GET", self._flow(f"/v1/flows/{flow_id}"), params={"docType": doc_type}
        )
        return response.content

    async def flow_metadata(self, flow_id: str) -> dict[str, Any]:
        response = await self._request(
            "GET", self._flow(f"/v1/flows/{flow_id}"), params={"docType": "Metadata"}
        )
        body: dict[str, Any] = response.json()
        return body

    async def subscribe_webhook(self, url: str, flow_type: str, direction: str, token: str = "") -> str:
        """`POST /v1/webhooks`: the PA calls `url` with each changed flow of that type and
        direction (our shared token in a header when given); returns the webhook's id."""
        callback: dict[str, Any] = {"url": url}
        if token:
            callback["headers"] = [{"headerName": "X-PA-Webhook-Token", "headerValue": token}]
        response = await self._request(
            "POST",
            self._flow("/v1/webhooks"),
            json={"callback": callback, "metadata": {"flowType": flow_type, "flowDirection": direction}},
        )
        body = response.json()
        return str(body.get("webhookId") or "")

    # ------------------------------------------------------------------ Directory service

    async def directory_lines(self, *, siren: str = "", siret: str = "") -> list[dict[str, Any]]:
        """`POST /v1/directory-line/search` by SIREN or SIRET: the buyer's addressing."""
        filters = (
            {"siret": {"op": "strict", "value": siret}}
            if siret
            else {"siren": {"op": "strict", "value": siren}}
        )
        response = await self._request(
            "POST", self._directory("/v1/directory-line/search"), json={"filters": filters, "limit": 10}
        )
        body = response.json()
        results = body.get("results") if isinstance(body, dict) else None
        return [r for r in results or [] if isinstance(r, dict)]
