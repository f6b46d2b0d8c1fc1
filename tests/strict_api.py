"""A strict fake Bot API: the recording `BaseRequest` that answers 400 where Telegram does.

Rules checked (the Bot API's own error descriptions, as Telegram words them):

- text of `sendMessage`/`editMessageText` longer than 4,096 characters once the HTML is
  parsed (the visible text), or empty: "message is too long" / "message text is empty";
- a caption over 1,024 visible characters: "message caption is too long";
- HTML that Telegram's parser refuses (unknown tag, unclosed or mismatched tag, a bare `<`):
  "can't parse entities: ...";
- callback data over 64 bytes (or empty), a button without text: "BUTTON_DATA_INVALID";
- an edit that changes neither text nor keyboard: "message is not modified: ...";
- `answerCallbackQuery` for a query marked late (`expire`) or answered twice:
  "query is too old and response timeout expired or query ID is invalid".

The HTML rules follow tdlib's `parse_html`: tags a, b, strong, i, em, u, ins, s, strike,
del, span (class tg-spoiler), tg-spoiler, tg-emoji, code, pre, blockquote; the entities
&lt; &gt; &amp; &quot; and numeric ones are decoded; any other `&` is kept as text.
"""

from __future__ import annotations

import html
import json
import re
from typing import Any

from telegram.request import RequestData

from bot.transport import RecordingRequest

__all__ = ["ApiRefusal", "StrictBotApi", "visible_text"]

MAX_TEXT = 4096
MAX_CAPTION = 1024
MAX_CALLBACK = 64

_TAGS = {
    "a",
    "b",
    "strong",
    "i",
    "em",
    "u",
    "ins",
    "s",
    "strike",
    "del",
    "span",
    "tg-spoiler",
    "tg-emoji",
    "code",
    "pre",
    "blockquote",
}
_TAG = re.compile(r"<(/?)([a-zA-Z][a-zA-Z0-9-]*)((?:\s+[^<>]*?)?)\s*(/?)>")
_ENTITY = re.compile(r"&(#x[0-9a-fA-F]+|#[0-9]+|lt|gt|amp|quot);")


class ApiRefusal(Exception):
    """What the strict API answered 400 with (the description, without "Bad Request: ")."""


def visible_text(text: str, parse_mode: str | None) -> str:
    """The text Telegram shows once the markup is parsed (raises ApiRefusal on bad HTML)."""
    if (parse_mode or "").upper() != "HTML":
        return text
    out: list[str] = []
    stack: list[str] = []
    i = 0
    while i < len(text):
        ch = text[i]
        if ch == "<":
            m = _TAG.match(text, i)
            if m is None:
                raise ApiRefusal(
                    f"can't parse entities: Unsupported start tag at byte offset {len(text[:i].encode())}"
                )
            closing, name = m.group(1) == "/", m.group(2).lower()
            if name not in _TAGS:
                raise ApiRefusal(
                    f'can\'t parse entities: Unsupported start tag "{name}" at byte offset '
                    f"{len(text[:i].encode())}"
                )
            if closing:
                if not stack or stack[-1] != name:
                    raise ApiRefusal(
                        f"can't parse entities: Unmatched end tag at byte offset {len(text[:i].encode())}, "
                        f'expected "</{stack[-1] if stack else ""}>", found "</{name}>"'
                    )
                stack.pop()
            else:
                stack.append(name)
            i = m.end()
        elif ch == "&":
            m = _ENTITY.match(text, i)
            if m is not None:
                out.append(html.unescape(m.group(0)))
                i = m.end()
            else:
                out.append(ch)
                i += 1
        else:
            out.append(ch)
            i += 1
    if stack:
        raise ApiRefusal(
            f"can't parse entities: Can't find end tag corresponding to start tag \"{stack[-1]}\""
        )
    return "".join(out).strip()


class StrictBotApi(RecordingRequest):
    """`RecordingRequest` that refuses, with Telegram's 400, what Telegram refuses."""

    def __init__(self, bot_username: str = "entonnoir_bot") -> None:
        super().__init__(bot_username)
        self.refused: list[tuple[str, str]] = []  # (method, description) answered 400
        self.expired: set[str] = set()  # callback query ids answered too late
        self.late_refused: list[str] = []  # those the product tried to answer anyway
        self.answered: set[str] = set()
        self.messages: dict[tuple[int, int], tuple[str, str]] = {}  # (chat, id) → (text, markup)

    def expire(self, query_id: str) -> None:
        """From now on, answering this callback query is "too old" (the 15 s have passed)."""
        self.expired.add(query_id)

    async def do_request(
        self,
        url: str,
        method: str,
        request_data: RequestData | None = None,
        read_timeout: Any = None,
        write_timeout: Any = None,
        connect_timeout: Any = None,
        pool_timeout: Any = None,
    ) -> tuple[int, bytes]:
        api_method = url.rsplit("/", 1)[-1]
        params = dict(request_data.parameters) if request_data else {}
        try:
            self._check(api_method, params)
        except ApiRefusal as refusal:
            if params.get("callback_query_id") not in self.expired:  # a late press is expected
                self.refused.append((api_method, str(refusal)))
            else:
                self.late_refused.append(str(params["callback_query_id"]))
            body = {"ok": False, "error_code": 400, "description": f"Bad Request: {refusal}"}
            return 400, json.dumps(body).encode()
        status, raw = await super().do_request(
            url, method, request_data, read_timeout, write_timeout, connect_timeout, pool_timeout
        )
        if status == 200 and api_method in ("sendMessage", "editMessageText"):
            result = json.loads(raw).get("result")
            if isinstance(result, dict):
                key = (int(result["chat"]["id"]), int(result["message_id"]))
                self.messages[key] = (str(params.get("text", "")), _markup(params))
        return status, raw

    def _check(self, method: str, params: dict[str, Any]) -> None:
        mode = params.get("parse_mode")
        if method in ("sendMessage", "editMessageText"):
            shown = visible_text(str(params.get("text") or ""), mode)
            if not shown:
                raise ApiRefusal("message text is empty")
            if len(shown) > MAX_TEXT:
                raise ApiRefusal("message is too long")
        caption = params.get("caption")
        if caption is not None and len(visible_text(str(caption), mode)) > MAX_CAPTION:
            raise ApiRefusal("message caption is too long")
        _check_markup(params.get("reply_markup"))
        if method in ("editMessageText", "editMessageReplyMarkup"):
            key = (int(params.get("chat_id") or 0), int(params.get("message_id") or 0))
            before = self.messages.get(key)
            text = str(params.get("text", before[0] if before else ""))
            if before is not None and before == (text, _markup(params)):
                raise ApiRefusal(
                    "message is not modified: specified new message content and reply markup "
                    "are exactly the same as a current content and reply markup of the message"
                )
        if method == "answerCallbackQuery":
            query_id = str(params.get("callback_query_id"))
            if query_id in self.expired or query_id in self.answered:
                raise ApiRefusal("query is too old and response timeout expired or query ID is invalid")
            self.answered.add(query_id)


def _markup(params: dict[str, Any]) -> str:
    markup = params.get("reply_markup")
    if isinstance(markup, str):
        markup = json.loads(markup)
    return json.dumps(markup or {}, sort_keys=True)


def _check_markup(markup: Any) -> None:
    if isinstance(markup, str):
        markup = json.loads(markup)
    for row in (markup or {}).get("inline_keyboard", []):
        for b in row:
            if not str(b.get("text") or "").strip():
                raise ApiRefusal("text buttons are unallowed in the inline keyboard")
            data = b.get("callback_data")
            if data is not None and not 1 <= len(str(data).encode()) <= MAX_CALLBACK:
                raise ApiRefusal("BUTTON_DATA_INVALID")
