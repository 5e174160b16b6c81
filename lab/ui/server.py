"""`python -m lab ui`: the page, its event stream and its actions, served by aiohttp.

    GET  /                 the page (lab/ui/static/index.html) and its script and style
    GET  /events?token=T   server-sent events: a `snapshot`, then an `update` every 0.1 s
                           while something changed; `down` while the lab is not up
    POST /action           {"action": "halt", "target": "server1"} with the header
                           X-Lab-Token: T; answers {"ok": bool, "message": "..."}

It listens on 127.0.0.1 unless told otherwise. Each run makes a random token, printed on the
terminal as part of the page's address (after `#`, so it is never sent in a Referer); the
event stream and the actions need it, a POST must come from the page's own origin, and every
request must name this server in its Host header (against DNS rebinding): a page elsewhere in
the browser can neither drive the lab nor read it.

The lab is watched (probes, polling: `lab.ui.collect`) only while at least one page is open;
a few seconds after the last one closes, everything stops, and nothing ran inside the lab's
namespaces anyway.
"""

from __future__ import annotations

import asyncio
import contextlib
import hmac
import json
import logging
import secrets
import signal
from collections.abc import Callable
from ipaddress import ip_address
from pathlib import Path
from typing import Any

from aiohttp import web

from ..lab import Lab, LabError
from ..topology import TopologyError
from .actions import ACTIONS
from .collect import Collector
from .view import LabView

log = logging.getLogger("lab.ui")

STATIC = Path(__file__).with_name("static")
TICK = 0.1  # seconds between updates to the pages
IDLE_GRACE = 3.0  # seconds the lab is still watched after the last page closed (a reload)
QUEUE_LIMIT = 200  # updates queued for a page that does not read; then it is dropped
HEARTBEAT = 10.0  # seconds between comments on an idle stream (finds closed pages)
TOKEN_HEADER = "X-Lab-Token"


class UiServer:
    """The page's server for the lab `name`."""

    def __init__(
        self,
        name: str,
        address: str,
        port: int,
        token: str,
        probe_interval: float | None = None,
    ) -> None:
        self.name = name
        self.address = address
        self.port = port
        self.token = token
        self.probe_interval = probe_interval
        self._pages: set[asyncio.Queue[str | None]] = set()
        self._collector: Collector | None = None
        self._collecting: asyncio.Task[None] | None = None
        self._idle: asyncio.TimerHandle | None = None
        self._view: LabView | None = None
        self._lab_down = False  # the collector found the lab down
        self._action_lock = asyncio.Lock()
        self._ticker: asyncio.Task[None] | None = None
        self.allowed_hosts: set[str] = set()

    # --- the application -----------------------------------------------------------------

    def application(self) -> web.Application:
        app = web.Application(middlewares=[self._guard])
        app.router.add_get("/", self._index)
        app.router.add_get("/events", self._events)
        app.router.add_post("/action", self._action)
        app.router.add_static("/static/", STATIC, follow_symlinks=False)
        app.on_shutdown.append(self._on_shutdown)
        return app

    def set_port(self, port: int) -> None:
        """The port really listened on (for --port 0): the Host headers accepted follow it."""
        self.port = port
        hosts = {self.address}
        if ip_address(self.address).is_loopback:
            hosts |= {"127.0.0.1", "localhost", "[::1]"}
        hosts = {f"[{h}]" if ":" in h and not h.startswith("[") else h for h in hosts}
        self.allowed_hosts = {f"{h}:{port}" for h in hosts}

    @web.middleware
    async def _guard(self, request: web.Request, handler: Callable[..., Any]) -> web.StreamResponse:
        if request.headers.get("Host", "") not in self.allowed_hosts:
            return _refuse("this server answers only to its own address (Host header)")
        if request.method == "POST":
            origin = request.headers.get("Origin")
            if origin not in {f"http://{host}" for host in self.allowed_hosts}:
                return _refuse("actions are taken only from the lab's own page (Origin)")
            if not self._token_ok(request.headers.get(TOKEN_HEADER, "")):
                return _refuse("wrong or missing token: open the address `lab ui` printed")
        response: web.StreamResponse = await handler(request)
        response.headers.setdefault("Cache-Control", "no-store")
        response.headers.setdefault("X-Frame-Options", "DENY")
        response.headers.setdefault("X-Content-Type-Options", "nosniff")
        return response

    def _token_ok(self, token: str) -> bool:
        return hmac.compare_digest(token.encode(), self.token.encode())

    async def _index(self, request: web.Request) -> web.FileResponse:
        return web.FileResponse(STATIC / "index.html")

    # --- the event stream ----------------------------------------------------------------

    async def _events(self, request: web.Request) -> web.StreamResponse:
        if not self._token_ok(request.query.get("token", "")):
            return _refuse("wrong or missing token: open the address `lab ui` printed")
        response = web.StreamResponse(
            headers={"Content-Type": "text/event-stream", "Cache-Control": "no-store"}
        )
        await response.prepare(request)
        queue: asyncio.Queue[str | None] = asyncio.Queue(QUEUE_LIMIT)
        first = self._first_message()
        if first is not None:
            queue.put_nowait(first)
        self._page_opened(queue)
        try:
            while True:
                try:
                    message = await asyncio.wait_for(queue.get(), HEARTBEAT)
                except TimeoutError:
                    message = ": still here\n\n"
                if message is None:
                    break  # too slow a reader: it reconnects and starts from a snapshot
                await response.write(message.encode())
        except (ConnectionError, asyncio.CancelledError):
            pass
        finally:
            self._page_closed(queue)
        return response

    def _first_message(self) -> str | None:
        if self._view is not None:
            return _event("snapshot", self._view.snapshot(now=_now()))
        if self._lab_down:
            return _event("down", self._down_message())
        return None  # not looked yet: the snapshot or `down` follows

    def _down_message(self) -> dict[str, Any]:
        text = f"lab {self.name!r} is not up: python -m lab up --name {self.name}"
        return {"type": "down", "lab": self.name, "message": text}

    def _broadcast(self, message: str) -> None:
        for queue in list(self._pages):
            try:
                queue.put_nowait(message)
            except asyncio.QueueFull:
                with contextlib.suppress(asyncio.QueueEmpty):
                    while True:
                        queue.get_nowait()
                queue.put_nowait(None)
                self._pages.discard(queue)

    def _page_opened(self, queue: asyncio.Queue[str | None]) -> None:
        self._pages.add(queue)
        if self._idle is not None:
            self._idle.cancel()
            self._idle = None
        if self._collecting is None:
            self._collector = Collector(self.name, self._on_view, self.probe_interval)
            self._collecting = asyncio.create_task(self._collector.run())
            self._ticker = asyncio.create_task(self._tick())

    def _page_closed(self, queue: asyncio.Queue[str | None]) -> None:
        self._pages.discard(queue)
        if not self._pages and self._idle is None and self._collecting is not None:
            self._idle = asyncio.get_running_loop().call_later(IDLE_GRACE, self._stop_watching)

    def _stop_watching(self) -> None:
        self._idle = None
        if self._pages:
            return
        for task in (self._collecting, self._ticker):
            if task is not None:
                task.cancel()
        self._collecting = self._ticker = self._collector = None
        self._view = None
        self._lab_down = False
        log.info("no page open: stopped watching lab %s", self.name)

    def _on_view(self, view: LabView | None) -> None:
        """The lab came up (a new view, perhaps of another topology) or went down (None)."""
        self._view = view
        self._lab_down = view is None
        if view is None:
            self._broadcast(_event("down", self._down_message()))
        else:
            self._broadcast(_event("snapshot", view.snapshot(now=_now())))

    async def _tick(self) -> None:
        while True:
            await asyncio.sleep(TICK)
            view = self._view
            if view is None:
                continue
            update = view.tick(now=_now())
            if update is not None:
                self._broadcast(_event("update", update))

    # --- actions -------------------------------------------------------------------------

    async def _action(self, request: web.Request) -> web.Response:
        try:
            body = await request.json()
            action, target = str(body["action"]), str(body["target"])
        except (ValueError, KeyError, TypeError):
            return _answer(False, 'send {"action": ..., "target": ...} as JSON', status=400)
        view = self._view
        if view is None:
            return _answer(False, f"lab {self.name!r} is not up")
        refusal = view.refusal(action, target)
        if refusal is not None:
            return _answer(False, refusal)
        if self._action_lock.locked():
            return _answer(False, "another action is still running: wait for it")
        async with self._action_lock:
            what = view.describe_action(action, target)
            action_id = view.action_started(what, now=_now())
            try:
                message = await asyncio.to_thread(_perform, self.name, action, target)
                ok = True
            except (LabError, TopologyError, OSError) as error:
                ok, message = False, f"{what} failed: {error}"
            except Exception as error:  # the page gets a sentence, the terminal the traceback
                log.exception("action %s %s", action, target)
                ok, message = False, f"{what} failed: internal error ({type(error).__name__})"
            view.action_finished(action_id, ok, message)
            if self._collector is not None:
                self._collector.poke()
            return _answer(ok, message)

    async def _on_shutdown(self, app: web.Application) -> None:
        for queue in list(self._pages):
            with contextlib.suppress(asyncio.QueueFull):
                queue.put_nowait(None)
        self._pages.clear()
        self._stop_watching()


def _perform(name: str, action: str, target: str) -> str:
    return ACTIONS[action](Lab(name), target)


def _now() -> float:
    return asyncio.get_running_loop().time()


def _event(kind: str, data: dict[str, Any]) -> str:
    return f"event: {kind}\ndata: {json.dumps(data, separators=(',', ':'))}\n\n"


def _answer(ok: bool, message: str, status: int = 200) -> web.Response:
    return web.json_response({"ok": ok, "message": message}, status=status)


def _refuse(reason: str) -> web.Response:
    return web.json_response({"ok": False, "message": reason}, status=403)


async def serve(
    name: str,
    address: str = "127.0.0.1",
    port: int = 8080,
    probe_interval: float | None = None,
    say: Callable[[str], None] = print,
) -> None:
    """Serve the page until SIGINT or SIGTERM."""
    server = UiServer(name, address, port, secrets.token_urlsafe(18), probe_interval)
    runner = web.AppRunner(server.application(), handle_signals=False, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, address, port, reuse_address=True)
    await site.start()
    bound = runner.addresses  # (host, port, ...) of each listening socket
    server.set_port(int(bound[0][1]) if bound else port)
    host = f"[{address}]" if ":" in address else address
    say(f"lab {name!r}, live: http://{host}:{server.port}/#token={server.token}")
    say("(the token in the address lets the page act on the lab; Ctrl-C stops)")
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stop.set)
    try:
        await stop.wait()
    finally:
        await runner.cleanup()
