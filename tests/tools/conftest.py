"""Fixtures of the watch tools' tests: the live fake (tests.fake_live) and MCP clients on the shared index
with live calls allowed through the environment, as an operator allows them."""

from __future__ import annotations

import pytest

from tests.fake_live import FakeLive


@pytest.fixture(scope="module")
def live_fake():
    """One fake of the live APIs per test module."""
    with FakeLive() as fake:
        yield fake


@pytest.fixture
async def live_client(edge_runtime, live_fake, tmp_path, monkeypatch):
    """An in-process MCP client whose server may call the (fake) live APIs."""
    from mcp import Client

    from server.app import build_server
    from server.state import AppState

    live_fake.heal()
    live_fake.reset_log()
    for name, value in live_fake.env(tmp_path / "live-cache").items():
        monkeypatch.setenv(name, value)

    async def loader():
        return edge_runtime

    async with Client(build_server(AppState(loader=loader))) as c:
        yield c
