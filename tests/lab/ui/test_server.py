"""The page's server without a lab: what it serves, and who may act (token, Origin, Host)."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from aiohttp.test_utils import TestClient, TestServer

from lab.ui.server import UiServer

TOKEN = "secret-token"


@pytest.fixture
async def client(tmp_path: object) -> AsyncIterator[TestClient]:
    ui = UiServer("nolab", "127.0.0.1", 0, TOKEN)
    server = TestServer(ui.application(), host="127.0.0.1", port=0)
    async with TestClient(server) as client:
        ui.set_port(server.port)  # type: ignore[arg-type]
        yield client


def _origin(client: TestClient) -> str:
    return f"http://127.0.0.1:{client.server.port}"


async def test_page_and_static_files(client: TestClient) -> None:
    page = await client.get("/")
    assert page.status == 200
    assert "ui.js" in await page.text()
    assert page.headers["X-Frame-Options"] == "DENY"
    script = await client.get("/static/ui.js")
    assert script.status == 200
    assert (await client.get("/static/../server.py")).status in (403, 404)


async def test_host_header_is_checked(client: TestClient) -> None:
    response = await client.get("/", headers={"Host": f"attacker.example:{client.server.port}"})
    assert response.status == 403


async def test_events_need_the_token(client: TestClient) -> None:
    assert (await client.get("/events")).status == 403
    assert (await client.get("/events?token=wrong")).status == 403


@pytest.mark.parametrize(
    ("headers", "status"),
    [
        ({}, 403),  # no Origin: not from a page
        ({"Origin": "http://attacker.example"}, 403),
        ({"Origin": "ORIGIN", "X-Lab-Token": "wrong"}, 403),
        ({"Origin": "ORIGIN"}, 403),  # no token
    ],
)
async def test_actions_are_guarded(
    client: TestClient, headers: dict[str, str], status: int
) -> None:
    headers = {k: v.replace("ORIGIN", _origin(client)) for k, v in headers.items()}
    if "X-Lab-Token" not in headers and headers.get("Origin") == "http://attacker.example":
        headers["X-Lab-Token"] = TOKEN
    response = await client.post("/action", json={"action": "halt", "target": "x"}, headers=headers)
    assert response.status == status
    assert (await response.json())["ok"] is False


async def test_a_good_request_on_a_lab_that_is_not_up(client: TestClient) -> None:
    headers = {"Origin": _origin(client), "X-Lab-Token": TOKEN}
    response = await client.post("/action", json={"action": "halt", "target": "x"}, headers=headers)
    assert response.status == 200
    assert await response.json() == {"ok": False, "message": "lab 'nolab' is not up"}
    response = await client.post("/action", data=b"not json", headers=headers)
    assert response.status == 400
