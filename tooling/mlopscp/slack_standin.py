"""A local stand-in for Slack: the Web API methods the control plane calls, and Slack's side of
interactivity (signed ``block_actions`` payloads sent to the app's interactivity URL).

Web API (``http://127.0.0.1:<port>/api/<method>``, the ``SlackApiUrl`` the local stack gets):
requests are authenticated like Slack does (``Authorization: Bearer xoxb-...``, or a ``token``
argument), arguments come as JSON, form fields or query parameters, and answers have Slack's
shapes, errors included (HTTP 200 with ``{"ok": false, "error": ...}``):

- ``auth.test`` -> ``ok, url, team, user, team_id, user_id, bot_id, is_enterprise_install``
- ``chat.postMessage`` (``channel``, ``text``/``blocks``, ``thread_ts``) -> ``ok, channel, ts,
  message``; ``chat.update`` (``channel``, ``ts``) -> ``ok, channel, ts, text, message``
  (``message_not_found`` for an unknown ts); ``chat.postEphemeral`` -> ``ok, message_ts``
- ``usergroups.users.list`` (``usergroup``) -> ``ok, users`` (``no_such_subteam``)
- ``users.info`` (``user``) -> ``ok, user`` (``id, name, real_name, profile``; ``user_not_found``)

Everything is recorded (:attr:`SlackStandIn.calls`, :meth:`SlackStandIn.messages`).

Faults (:meth:`SlackStandIn.inject`, the emulator's ``emu.faults`` for Slack): fail the next N
calls of a Web API method the way Slack fails them, so slack_sdk raises and retries as it would
against Slack (docs/faults.md):

- ``throttling``: HTTP 429 with ``Retry-After`` (seconds) and ``{"ok": false, "error":
  "ratelimited"}`` (Slack's rate limiting); slack_sdk's ``RateLimitErrorRetryHandler`` waits it out
- ``access_denied``: HTTP 200 with ``{"ok": false, "error": "invalid_auth"}`` (or
  ``not_authed``, ``missing_scope`` with ``needed``/``provided``, ``account_inactive``...)
- ``server_error``: HTTP 503 with an HTML page, as Slack's edge answers when Slack is down (no
  JSON envelope: slack_sdk reports the body it could not decode)
- ``timeout``: the connection closes with no answer (slack_sdk sees ``RemoteDisconnected``)

Interactivity (:meth:`SlackStandIn.click`): what Slack sends when someone clicks a button of a
message it holds, after the confirm dialog: a POST of ``application/x-www-form-urlencoded``
``payload=<JSON>`` with ``X-Slack-Request-Timestamp`` and ``X-Slack-Signature`` =
``v0=`` + hex HMAC-SHA256(signing secret, ``v0:<timestamp>:<body>``). The payload is a
``block_actions`` payload built from the recorded message (its blocks, the button's action_id,
block_id, value, text, style and confirm). Tests use the lower-level :meth:`interaction_body`
and :meth:`signed_headers` to forge, age or replay requests.

Rendering (:func:`live_markup`, :func:`displayed`): what a Slack client makes of a message's
text, per Slack's formatting reference. ``mrkdwn`` text objects (and the top-level ``text``,
unless the message says ``mrkdwn: false``) parse control sequences ``<...>`` (links, mentions,
``<!channel>``-style broadcasts), formatting (``*bold*``, ``_italic_``, ``~strike~``,
`` `code` ``, a line-leading ``>`` quote) and, unless ``verbatim``, auto-link bare URLs. With
``mrkdwn: false`` the top-level text still parses control sequences. ``plain_text`` objects
parse nothing. Everywhere, ``&amp;``, ``&lt;`` and ``&gt;`` are shown as ``&``, ``<``, ``>``.
Tests use these to check that untrusted text arrives as written and inert.
"""

from __future__ import annotations

import hashlib
import hmac
import html
import json
import re
import socket
import threading
import time
import urllib.error
import urllib.request
import uuid
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

from mlopscp_emulator.faults import KINDS, Fault

TEAM_ID = "T0MLOPSCP"
APP_ID = "A0MLOPSCP"
BOT_ID = "B0MLOPSCP"
BOT_USER = "U0MLOPSBOT"


@dataclass
class ApiCall:
    method: str
    args: dict[str, Any]
    response: dict[str, Any]


@dataclass
class Message:
    channel: str
    ts: str
    text: str
    blocks: list[dict[str, Any]]
    thread_ts: str | None = None
    history: list[dict[str, Any]] = field(default_factory=list)  # earlier versions (chat.update)

    def as_slack(self) -> dict[str, Any]:
        message = {
            "type": "message",
            "subtype": "bot_message",
            "text": self.text,
            "ts": self.ts,
            "bot_id": BOT_ID,
            "app_id": APP_ID,
            "team": TEAM_ID,
            "user": BOT_USER,
            "blocks": self.blocks,
        }
        if self.thread_ts:
            message["thread_ts"] = self.thread_ts
        return message

    def button(self, action_id: str) -> dict[str, Any] | None:
        for block in self.blocks:
            for element in block.get("elements", []) if block.get("type") == "actions" else []:
                if element.get("action_id") == action_id:
                    return {**element, "block_id": block.get("block_id", "")}
        return None


@dataclass
class SlackFault(Fault):
    """An injected Slack fault; ``hits`` counts the requests it answered (retries included)."""

    retry_after: int = 1  # a throttled answer's Retry-After, seconds


@dataclass(frozen=True)
class HttpAnswer:
    status: int
    body: str


class SlackStandIn:
    def __init__(
        self,
        bot_token: str,
        signing_secret: str,
        users: dict[str, str] | None = None,
        groups: dict[str, list[str]] | None = None,
    ) -> None:
        self.bot_token = bot_token
        self.signing_secret = signing_secret
        self.users = dict(users or {})  # user id -> name
        self.groups = {k: list(v) for k, v in (groups or {}).items()}
        self.calls: list[ApiCall] = []
        self.ephemeral: list[dict[str, Any]] = []
        self._messages: dict[tuple[str, str], Message] = {}
        self._lock = threading.Lock()
        self._last_ts = 0.0
        self._server: ThreadingHTTPServer | None = None
        self._faults: list[SlackFault] = []

    # -- lifecycle ------------------------------------------------------------------------

    def start(self) -> SlackStandIn:
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self._server.daemon_threads = True
        threading.Thread(target=self._server.serve_forever, daemon=True, name="slack").start()
        return self

    def stop(self) -> None:
        if self._server:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    @property
    def api_url(self) -> str:
        """The Web API base URL (what slack_sdk's WebClient takes as ``base_url``)."""
        assert self._server, "start the stand-in first"
        return f"http://127.0.0.1:{self._server.server_port}/api/"

    # -- faults ---------------------------------------------------------------------------

    def inject(
        self,
        method: str,
        kind: str,
        times: int | None = 1,
        *,
        error: str | None = None,
        status: int | None = None,
        retry_after: int = 1,
    ) -> SlackFault:
        """Fail the next ``times`` calls (``None``: every call until :meth:`clear`) of the Web API
        ``method`` (``"chat.postMessage"``; ``"*"`` for any) with a fault of ``kind`` (one of the
        emulator's kinds). ``error`` and ``status`` override the kind's Slack error code and HTTP
        status; ``retry_after`` is a throttled answer's ``Retry-After``."""
        if kind not in KINDS:
            raise ValueError(f"fault kind {kind!r} is not one of {', '.join(KINDS)}")
        if method != "*" and not hasattr(self, "_" + method.replace(".", "_")):
            raise ValueError(f"the Slack stand-in has no method {method!r}")
        code, default_status = _SLACK_FAULTS[kind]
        fault = SlackFault(
            service="slack",
            operation=method,
            kind=kind,
            times=times,
            code=error or code,
            status=status or default_status,
            message=f"Injected {kind} fault (slack:{method})",
            delay=0.0,
            account=None,
            retry_after=retry_after,
        )
        with self._lock:
            self._faults.append(fault)
        return fault

    def clear(self) -> None:
        with self._lock:
            self._faults.clear()

    def _fault_for(self, method: str) -> SlackFault | None:
        with self._lock:
            faults = [f for f in self._faults if f.operation in ("*", method)]
        return next((f for f in faults if f.take()), None)

    # -- what was posted --------------------------------------------------------------------

    def messages(self, channel: str | None = None, replies: bool = False) -> list[Message]:
        """Messages in their current state (after updates); top-level only unless `replies`."""
        with self._lock:
            found = [m for m in self._messages.values() if channel in (None, m.channel)]
        return [m for m in found if replies or not m.thread_ts]

    def replies(self, message: Message) -> list[Message]:
        with self._lock:
            return [m for m in self._messages.values() if m.thread_ts == message.ts]

    @staticmethod
    def as_first_posted(message: Message) -> Message:
        """The message as first posted: what a client that has not refreshed still shows."""
        first = message.history[0] if message.history else {}
        return Message(
            message.channel,
            message.ts,
            first.get("text", message.text),
            first.get("blocks", message.blocks),
            message.thread_ts,
        )

    def api_calls(self, method: str) -> list[ApiCall]:
        return [call for call in self.calls if call.method == method]

    # -- Slack's side of interactivity -----------------------------------------------------

    def click(
        self, message: Message, user_id: str, action_id: str, interactivity_url: str
    ) -> HttpAnswer:
        """Someone clicks a button of a posted message and confirms the dialog."""
        body = self.interaction_body(message, user_id, action_id)
        return self.post(interactivity_url, body, self.signed_headers(body))

    def interaction_body(self, message: Message, user_id: str, action_id: str) -> str:
        """The form-encoded ``payload=`` body of a block_actions interaction."""
        button = message.button(action_id)
        if button is None:
            raise ValueError(f"message {message.ts} has no button {action_id!r}")
        action: dict[str, Any] = {
            "action_id": button["action_id"],
            "block_id": button["block_id"],
            "text": button["text"],
            "value": button.get("value", ""),
            "type": "button",
            "action_ts": f"{time.time():.6f}",
        }
        for optional in ("style", "confirm"):
            if optional in button:
                action[optional] = button[optional]
        name = self.users.get(user_id, user_id.lower())
        payload: dict[str, Any] = {
            "type": "block_actions",
            "user": {"id": user_id, "username": name, "name": name, "team_id": TEAM_ID},
            "api_app_id": APP_ID,
            "token": "legacy-verification-token-unused",
            "container": {
                "type": "message",
                "message_ts": message.ts,
                "channel_id": message.channel,
                "is_ephemeral": False,
            },
            "trigger_id": f"{int(time.time())}.{uuid.uuid4().hex[:12]}",
            "team": {"id": TEAM_ID, "domain": "mlopscp-local"},
            "enterprise": None,
            "is_enterprise_install": False,
            "channel": {"id": message.channel, "name": message.channel.lower()},
            "message": message.as_slack(),
            "state": {"values": {}},
            "response_url": f"{self.api_url.removesuffix('api/')}actions/{TEAM_ID}/"
            f"{uuid.uuid4().hex[:10]}",
            "actions": [action],
        }
        return urlencode({"payload": json.dumps(payload, separators=(",", ":"))})

    def signed_headers(
        self, body: str, timestamp: int | None = None, secret: str | None = None
    ) -> dict[str, str]:
        """Slack's request-signing headers (v0) for `body`, now or at `timestamp`."""
        stamp = str(int(time.time()) if timestamp is None else timestamp)
        key = (self.signing_secret if secret is None else secret).encode()
        digest = hmac.new(key, f"v0:{stamp}:{body}".encode(), hashlib.sha256).hexdigest()
        return {
            "Content-Type": "application/x-www-form-urlencoded",
            "X-Slack-Request-Timestamp": stamp,
            "X-Slack-Signature": f"v0={digest}",
            "User-Agent": "Slackbot 1.0 (+https://api.slack.com/robots)",
        }

    @staticmethod
    def post(url: str, body: str, headers: dict[str, str]) -> HttpAnswer:
        if not url.startswith(("http://", "https://")):
            raise ValueError(f"not an HTTP URL: {url}")
        request = urllib.request.Request(  # noqa: S310 - http(s) only, checked above
            url, data=body.encode(), headers=headers, method="POST"
        )
        try:
            with urllib.request.urlopen(request, timeout=30) as response:  # noqa: S310 - http(s) only
                return HttpAnswer(response.status, response.read().decode())
        except urllib.error.HTTPError as error:
            return HttpAnswer(error.code, error.read().decode())

    # -- the Web API ----------------------------------------------------------------------

    def _next_ts(self) -> str:
        with self._lock:
            now = max(time.time(), self._last_ts + 0.000001)
            self._last_ts = now
            return f"{now:.6f}"

    def answer(
        self, method: str, args: dict[str, Any], token: str | None
    ) -> tuple[int, bytes, dict[str, str]] | None:
        """The HTTP answer (status, body, headers) to a Web API request; None: no answer."""
        fault = self._fault_for(method)
        if fault is None:
            return 200, json.dumps(self.call(method, args, token)).encode(), {}
        return None if fault.kind == "timeout" else _fault_answer(fault)

    def call(self, method: str, args: dict[str, Any], token: str | None) -> dict[str, Any]:
        if not token:
            response: dict[str, Any] = {"ok": False, "error": "not_authed"}
        elif not hmac.compare_digest(token, self.bot_token):
            response = {"ok": False, "error": "invalid_auth"}
        else:
            handler = getattr(self, "_" + method.replace(".", "_"), None)
            response = handler(args) if handler else {"ok": False, "error": "unknown_method"}
        with self._lock:
            self.calls.append(ApiCall(method, args, response))
        return response

    def _auth_test(self, args: dict[str, Any]) -> dict[str, Any]:
        return {
            "ok": True,
            "url": "https://mlopscp-local.slack.com/",
            "team": "mlopscp local",
            "user": "mlopscp",
            "team_id": TEAM_ID,
            "user_id": BOT_USER,
            "bot_id": BOT_ID,
            "is_enterprise_install": False,
        }

    def _chat_postMessage(self, args: dict[str, Any]) -> dict[str, Any]:  # noqa: N802
        if not args.get("channel"):
            return {"ok": False, "error": "channel_not_found"}
        if not args.get("text") and not args.get("blocks"):
            return {"ok": False, "error": "no_text"}
        thread = args.get("thread_ts")
        if thread and (args["channel"], thread) not in self._messages:
            return {"ok": False, "error": "thread_not_found"}
        message = Message(
            args["channel"], self._next_ts(), args.get("text", ""), _blocks(args), thread
        )
        with self._lock:
            self._messages[(message.channel, message.ts)] = message
        return {
            "ok": True,
            "channel": message.channel,
            "ts": message.ts,
            "message": message.as_slack(),
        }

    def _chat_update(self, args: dict[str, Any]) -> dict[str, Any]:
        with self._lock:
            message = self._messages.get((args.get("channel", ""), args.get("ts", "")))
            if message is None:
                return {"ok": False, "error": "message_not_found"}
            message.history.append({"text": message.text, "blocks": message.blocks})
            message.text = args.get("text", message.text)
            if "blocks" in args:
                message.blocks = _blocks(args)
        return {
            "ok": True,
            "channel": message.channel,
            "ts": message.ts,
            "text": message.text,
            "message": message.as_slack(),
        }

    def _chat_postEphemeral(self, args: dict[str, Any]) -> dict[str, Any]:  # noqa: N802
        if not args.get("channel") or not args.get("user"):
            return {"ok": False, "error": "channel_not_found"}
        ts = self._next_ts()
        with self._lock:
            self.ephemeral.append({**args, "message_ts": ts})
        return {"ok": True, "message_ts": ts}

    def _usergroups_users_list(self, args: dict[str, Any]) -> dict[str, Any]:
        group = args.get("usergroup", "")
        if group not in self.groups:
            return {"ok": False, "error": "no_such_subteam"}
        return {"ok": True, "users": list(self.groups[group])}

    def _users_info(self, args: dict[str, Any]) -> dict[str, Any]:
        user = args.get("user", "")
        if user not in self.users:
            return {"ok": False, "error": "user_not_found"}
        name = self.users[user]
        handle = name.split()[0].lower() if name.split() else user.lower()
        return {
            "ok": True,
            "user": {
                "id": user,
                "team_id": TEAM_ID,
                "name": handle,
                "real_name": name,
                "profile": {"display_name": name, "real_name": name},
            },
        }

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        standin = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def _serve(self) -> None:
                parts = urlsplit(self.path)
                if not parts.path.startswith("/api/"):
                    self._answer(404, {"ok": False, "error": "not_found"})
                    return
                args = {k: v[0] for k, v in parse_qs(parts.query).items()}
                length = int(self.headers.get("Content-Length") or 0)
                raw = self.rfile.read(length).decode() if length else ""
                if raw and "json" in (self.headers.get("Content-Type") or ""):
                    args |= json.loads(raw)
                elif raw:
                    args |= {k: v[0] for k, v in parse_qs(raw).items()}
                auth = self.headers.get("Authorization", "")
                token = auth.removeprefix("Bearer ").strip() if auth else args.pop("token", None)
                method = parts.path.removeprefix("/api/")
                answer = standin.answer(method, args, token)
                if answer is None:  # an injected timeout: the connection closes, no answer
                    self.close_connection = True
                    self.connection.shutdown(socket.SHUT_RDWR)
                else:
                    self._send(*answer)

            def _answer(self, status: int, document: dict[str, Any]) -> None:
                self._send(status, json.dumps(document).encode(), {})

            def _send(self, status: int, payload: bytes, headers: dict[str, str]) -> None:
                self.send_response(status)
                headers = {"Content-Type": "application/json; charset=utf-8"} | headers
                for name, value in headers.items():
                    self.send_header(name, value)
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

            do_GET = do_POST = _serve  # noqa: N815 - http.server dispatches on these names

            def log_message(self, format: str, *args: Any) -> None:
                pass

        return Handler


# kind -> (Slack's error code, HTTP status), as Slack answers
_SLACK_FAULTS = {
    "throttling": ("ratelimited", 429),
    "access_denied": ("invalid_auth", 200),
    "server_error": ("", 503),
    "timeout": ("", 0),
}


def _fault_answer(fault: SlackFault) -> tuple[int, bytes, dict[str, str]]:
    """Status, body and headers of a failed call, as Slack (or its edge, for a 5xx) answers."""
    if fault.status >= 500:
        page = f"<html><body><h1>{fault.status} Service Unavailable</h1></body></html>"
        return fault.status, page.encode(), {"Content-Type": "text/html; charset=utf-8"}
    body: dict[str, Any] = {"ok": False, "error": fault.code}
    if fault.code == "missing_scope":  # Slack names the scope it wanted and the token's
        body |= {"needed": "chat:write", "provided": "users:read"}
    headers = {"Retry-After": str(fault.retry_after)} if fault.status == 429 else {}
    return fault.status, json.dumps(body).encode(), headers


def _blocks(args: dict[str, Any]) -> list[dict[str, Any]]:
    """Blocks arrive as a list (JSON body) or a JSON string (form body)."""
    blocks = args.get("blocks") or []
    return json.loads(blocks) if isinstance(blocks, str) else list(blocks)


# ---------------------------------------------------------------- how Slack renders text


@dataclass(frozen=True)
class Markup:
    """One piece of text Slack would act on rather than show as written."""

    kind: str  # link, mention, broadcast, channel, usergroup, date, autolink, bold, italic, ...
    source: str  # the raw text that produced it


_CONTROL = re.compile(r"<([^<>]*)>")
_FORMATTING = {
    "code_block": re.compile(r"```(.+?)```", re.DOTALL),
    "code": re.compile(r"`([^`\n]+)`"),
    "bold": re.compile(r"(?<![\w*])\*(?=\S)([^*\n]+?)(?<=\S)\*(?![\w*])"),
    "italic": re.compile(r"(?<![\w_])_(?=\S)([^_\n]+?)(?<=\S)_(?![\w_])"),
    "strike": re.compile(r"(?<![\w~])~(?=\S)([^~\n]+?)(?<=\S)~(?![\w~])"),
    "quote": re.compile(r"^>(.*)$", re.MULTILINE),
}
_AUTOLINK = re.compile(r"\b(?:https?://|www\.)[^\s<>|]+")


def text_objects(message: dict[str, Any]) -> list[dict[str, Any]]:
    """Every text Slack renders in a message (``text`` and ``blocks``), as text objects; the
    top-level text counts as mrkdwn unless the message says ``mrkdwn: false``."""
    found: list[dict[str, Any]] = []
    if message.get("text"):
        kind = "mrkdwn" if message.get("mrkdwn", True) else "top_level_plain"
        found.append({"type": kind, "text": message["text"]})

    def walk(node: Any) -> None:
        if isinstance(node, dict):
            if node.get("type") in ("mrkdwn", "plain_text") and isinstance(node.get("text"), str):
                found.append(node)
                return
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)

    walk(message.get("blocks") or [])
    return found


def live_markup(message: dict[str, Any]) -> list[Markup]:
    """What Slack would turn into links, mentions, broadcasts or formatting in `message`."""
    found: list[Markup] = []
    for obj in text_objects(message):
        if obj["type"] == "plain_text":
            continue
        text = obj["text"]
        for match in _CONTROL.finditer(text):
            found.append(Markup(_control_kind(match.group(1)), match.group(0)))
        if obj["type"] == "top_level_plain":
            continue
        bare = _CONTROL.sub(" ", text)
        for kind, pattern in _FORMATTING.items():
            found += [Markup(kind, m.group(0)) for m in pattern.finditer(bare)]
        if not obj.get("verbatim"):
            found += [Markup("autolink", m.group(0)) for m in _AUTOLINK.finditer(bare)]
    return found


def _control_kind(inner: str) -> str:
    if inner.startswith("@"):
        return "mention"
    if inner.startswith("#"):
        return "channel"
    if inner.startswith("!subteam^"):
        return "usergroup"
    if inner.startswith("!date^"):
        return "date"
    if inner.split("|")[0] in ("!channel", "!here", "!everyone"):
        return "broadcast"
    return "link"


def displayed(message: dict[str, Any]) -> str:
    """The text a reader sees (entities decoded), every text object on its own line."""
    return "\n".join(html.unescape(obj["text"]) for obj in text_objects(message))
