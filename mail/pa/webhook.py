"""The PA's webhook callback, framework-free: the web server mounts `receive_webhook`.

XP Z12-013 (Flow service 1.2.0) posts the `Flow` resource of the flow that changed as JSON.
The body is bounded, parsed, checked to be a Flow, and noted as a row (`note_flows`), in
one short transaction; the PA job downloads and applies it. So a duplicate webhook is a
no-op, a webhook and a poll that overlap do the work once, and a crash after the answer
loses nothing. The optional shared secret is compared in constant time.
"""

from __future__ import annotations

import hmac
import json
from collections.abc import Mapping

from storage.einvoicing.inbound import note_flows

__all__ = ["MAX_BODY", "TOKEN_HEADER", "receive_webhook"]

MAX_BODY = 256_000
TOKEN_HEADER = "x-pa-webhook-token"  # noqa: S105 - a header name, not a secret


async def receive_webhook(
    body: bytes, headers: Mapping[str, str] | None = None, *, secret: str = ""
) -> tuple[int, dict[str, str]]:
    """(HTTP status, JSON body) for one webhook call; 200 once the flow is noted."""
    if secret:
        given = {k.lower(): v for k, v in (headers or {}).items()}.get(TOKEN_HEADER, "")
        if not hmac.compare_digest(given.encode(), secret.encode()):
            return 401, {"errorCode": "UNAUTHORIZED"}
    if len(body) > MAX_BODY:
        return 413, {"errorCode": "PAYLOAD_TOO_LARGE"}
    try:
        flow = json.loads(body)
    except (ValueError, UnicodeDecodeError):
        return 400, {"errorCode": "INVALID_JSON"}
    if not isinstance(flow, dict) or not isinstance(flow.get("flowId"), str) or not flow.get("flowType"):
        return 400, {"errorCode": "NOT_A_FLOW"}
    await note_flows([flow])
    return 200, {}
