"""The API gateway in front of every /v1 route: authentication, the rate limit, the request log and faults.

It is plain ASGI rather than a decorator per route because a fault has to wrap the *finished* response (the
handler has committed) and because dropping a connection needs the raw server connection, which only the
outermost layer sees.
"""

from __future__ import annotations

import asyncio
import json
import time
from typing import Any

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from sandbox.errors import gateway_body
from sandbox.faults import LATE_MODES, Fault
from sandbox.store import RequestRecord, SandboxState

API_PREFIX = "/v1"


def is_api_path(path: str) -> bool:
    return path == API_PREFIX or path.startswith(API_PREFIX + "/")


class Gateway:
    def __init__(self, app: ASGIApp, state: SandboxState) -> None:
        self.app = app
        self.state = state
        self._late: set[asyncio.Task[None]] = set()  # requests still to be executed (late_* faults)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not is_api_path(scope["path"]):
            await self.app(scope, receive, send)
            return
        received_at = time.time()
        method, path = scope["method"], scope["path"]
        token = _bearer_token(scope)
        fault: Fault | None = None
        round_trip = 0.0
        state = self.state
        with state.lock:
            principal = state.principal_for(token) if token else None
            if principal is None:
                record = None
            else:
                runtime = state.org_runtime(principal.organization_id)
                round_trip = state.organizations[principal.organization_id].round_trip_seconds
                record = RequestRecord(t=received_at, method=method, path=path)
                runtime.requests.append(record)
                if runtime.bucket.try_take():
                    fault = state.faults.take(method, path)
                else:
                    runtime.rate_limited += 1
                    record.status = 429
        if record is None:
            await send_json(send, 401, gateway_body(401))
            return
        if round_trip:  # counted by the bucket on arrival (above), answered one round trip later
            await asyncio.sleep(round_trip)
        if record.status == 429:
            await send_json(send, 429, gateway_body(429))
            return
        scope.setdefault("state", {})["principal"] = principal
        if fault is None:
            await self.app(scope, receive, _recording_status(send, record))
            return
        record.fault = fault.mode
        if fault.mode == "before":
            record.status = fault.status
            await send_fault(send, fault)
            return
        if fault.mode in LATE_MODES:
            await self._late_commit(fault, scope, receive, send, record)
            return
        messages = await _run_to_completion(self.app, scope, receive)
        if fault.mode == "after_commit":
            record.status = fault.status
            await send_fault(send, fault)
        elif fault.mode == "slow_after_commit":
            record.status = _status_of(messages)
            await asyncio.sleep(fault.delay_seconds)
            for message in messages:
                await send(message)
        else:  # drop_after_commit
            await _drop_connection(receive, send, messages)


    async def _late_commit(self, fault: Fault, scope: Scope, receive: Receive, send: Send,
                           record: RequestRecord) -> None:
        """Answer the failure first, execute the request ``delay_seconds`` later (the backend was still busy).

        ``late_after_timeout`` answers nothing until the request is executed, so a client with a shorter read
        timeout gives up first; the other two answer at once (``status``, or a dropped connection).
        """
        body = await _read_request(receive)
        if fault.mode == "late_after_timeout":
            record.status = None
            await asyncio.sleep(fault.delay_seconds)
            messages = await _run_to_completion(self.app, dict(scope), _replay(body))
            record.status = _status_of(messages)
            for message in messages:
                await send(message)  # uvicorn discards these once the client has gone
            return
        if fault.mode == "late_after_error":
            record.status = fault.status
            await send_fault(send, fault)
        else:
            record.status = None
            await _drop_connection(receive, send, [{"type": "http.response.start", "status": 201, "headers": []}])
        task = asyncio.get_running_loop().create_task(self._execute_later(fault.delay_seconds, dict(scope), body))
        self._late.add(task)
        task.add_done_callback(self._late.discard)

    async def _execute_later(self, delay: float, scope: Scope, body: list[Message]) -> None:
        await asyncio.sleep(delay)
        await _run_to_completion(self.app, scope, _replay(body))


async def _read_request(receive: Receive) -> list[Message]:
    """The whole request body, so that it can be executed after the connection is gone."""
    messages: list[Message] = []
    while True:
        message = await receive()
        messages.append(message)
        if message["type"] != "http.request" or not message.get("more_body"):
            return messages


def _replay(messages: list[Message]) -> Receive:
    pending = list(messages)

    async def receive() -> Message:
        return pending.pop(0) if pending else {"type": "http.disconnect"}

    return receive


def _bearer_token(scope: Scope) -> str | None:
    for name, value in scope["headers"]:
        if name == b"authorization":
            scheme, _, token = value.decode("latin-1").partition(" ")
            if scheme.lower() == "bearer" and token.strip():
                return token.strip()
            return None
    return None


def _recording_status(send: Send, record: RequestRecord) -> Send:
    async def recording_send(message: Message) -> None:
        if message["type"] == "http.response.start":
            record.status = message["status"]
        await send(message)

    return recording_send


async def _run_to_completion(app: ASGIApp, scope: Scope, receive: Receive) -> list[Message]:
    """Run the handler to its end (the change is committed) and keep its response instead of sending it."""
    messages: list[Message] = []

    async def capture(message: Message) -> None:
        messages.append(message)

    await app(scope, receive, capture)
    return messages


def _status_of(messages: list[Message]) -> int | None:
    for message in messages:
        if message["type"] == "http.response.start":
            return int(message["status"])
    return None


async def send_json(send: Send, status: int, body: Any, headers: dict[str, str] | None = None) -> None:
    payload = json.dumps(body).encode()
    raw_headers = [(b"content-type", b"application/json"), (b"content-length", str(len(payload)).encode())]
    raw_headers += [(k.lower().encode(), v.encode()) for k, v in (headers or {}).items()]
    await send({"type": "http.response.start", "status": status, "headers": raw_headers})
    await send({"type": "http.response.body", "body": payload})


async def send_fault(send: Send, fault: Fault) -> None:
    headers = {"Retry-After": f"{fault.retry_after:g}"} if fault.retry_after is not None else None
    await send_json(send, fault.status, gateway_body(fault.status), headers)


async def _drop_connection(receive: Receive, send: Send, messages: list[Message]) -> None:
    """Close the TCP connection without a response, as a load balancer reset after the backend committed.

    uvicorn's ``receive`` is a bound method of the request cycle, which holds the asyncio transport. If a server
    without that shape runs the app, promise more bytes than are sent instead: the server must then cut the
    connection, and the client sees an incomplete read.
    """
    transport = getattr(getattr(receive, "__self__", None), "transport", None)
    if transport is not None and hasattr(transport, "abort"):
        transport.abort()
        await asyncio.sleep(0)  # let the server register the lost connection before the handler returns
        return
    start = next(m for m in messages if m["type"] == "http.response.start")
    body = b"".join(m.get("body", b"") for m in messages if m["type"] == "http.response.body")
    headers = [(k, v) for k, v in start.get("headers", []) if k.lower() != b"content-length"]
    headers.append((b"content-length", str(len(body) + 1024).encode()))
    await send({"type": "http.response.start", "status": start["status"], "headers": headers})
    await send({"type": "http.response.body", "body": body[: len(body) // 2], "more_body": False})
