"""OAuth 2.1 resource server over real HTTP requests: a local issuer (RSA keys made here, its
OpenID metadata and JWKS served on loopback) signs access tokens; the server's real ASGI app
checks them. Good tokens work; each kind of bad token is refused with a message saying which;
a rotated key is picked up; scopes gate the tools; static tokens keep working beside OAuth."""

from __future__ import annotations

import json
import threading
import time
from contextlib import asynccontextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import httpx
import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import rsa
from jwt.algorithms import RSAAlgorithm
from pydantic import SecretStr

from server.app import build_server
from server.settings import ServerSettings
from server.state import AppState
from server.transports import UnsafeBindError, check_auth, check_bind, http_app
from tests.server.http_harness import INIT, MCP_HEADERS, rpc

pytestmark = pytest.mark.anyio
RESOURCE = "http://127.0.0.1:8000/mcp"
STATIC = "static-token-for-oauth-tests-0123456789"


class Issuer:
    """A loopback authorization server: OpenID metadata + JWKS, keys made in the test, fetches counted."""

    def __init__(self) -> None:
        self.keys: dict[str, rsa.RSAPrivateKey] = {}
        self.published: list[str] = []
        self.jwks_fetches = 0
        issuer = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802 (http.server's name)
                if self.path == "/.well-known/openid-configuration":
                    body = {
                        "issuer": issuer.url,
                        "jwks_uri": f"{issuer.url}/jwks",
                        "authorization_endpoint": f"{issuer.url}/authorize",
                        "token_endpoint": f"{issuer.url}/token",
                    }
                elif self.path == "/jwks":
                    issuer.jwks_fetches += 1
                    body = {"keys": [issuer.jwk(kid) for kid in issuer.published]}
                else:
                    self.send_error(404)
                    return
                data = json.dumps(body).encode()
                self.send_response(200)
                self.send_header("content-type", "application/json")
                self.send_header("content-length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def new_key(self, kid: str, publish: bool = True) -> None:
        self.keys[kid] = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        if publish:
            self.published.append(kid)

    def jwk(self, kid: str) -> dict:
        return {
            **RSAAlgorithm.to_jwk(self.keys[kid].public_key(), as_dict=True),
            "kid": kid,
            "use": "sig",
            "alg": "RS256",
        }

    def token(
        self,
        kid: str = "k1",
        *,
        scope: str = "anime:read",
        aud: str = RESOURCE,
        exp: float = 300,
        iss: str | None = None,
        sub: str = "user-1",
        **claims: object,
    ) -> str:
        now = int(time.time())
        body = {
            "iss": iss or self.url,
            "sub": sub,
            "aud": aud,
            "iat": now,
            "exp": now + int(exp),
            "scope": scope,
            "azp": "test-client",
            **claims,
        }
        return jwt.encode(body, self.keys[kid], algorithm="RS256", headers={"kid": kid})

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def issuer():
    iss = Issuer()
    iss.new_key("k1")
    yield iss
    iss.close()


def oauth_settings(issuer: Issuer, **kw) -> ServerSettings:
    values = dict(
        transport="http",
        oauth_issuer=issuer.url,
        oauth_resource_url=RESOURCE,
        oauth_jwks_refetch_seconds=0.0,
        oauth_http_timeout=5.0,
    )
    values.update(kw)
    return ServerSettings(_env_file=None, **values)


async def _never_ready():
    raise RuntimeError("no index in this test")


@asynccontextmanager
async def served(settings: ServerSettings, runtime=None, enrichment=None):
    """An httpx client wired to the real ASGI app (lifespan running), host 127.0.0.1."""

    async def loader():
        return runtime

    state = AppState(loader=loader if runtime is not None else _never_ready, admin_tokens=settings.admin_token_values())
    app = http_app(build_server(state, enrichment=enrichment), state, settings)
    inner = app.app
    async with inner.router.lifespan_context(inner):
        transport = httpx.ASGITransport(app=app, client=("127.0.0.1", 50000))
        async with httpx.AsyncClient(transport=transport, base_url="http://127.0.0.1:8000", timeout=60) as client:
            yield client


def bearer(token: str) -> dict[str, str]:
    return {**MCP_HEADERS, "authorization": f"Bearer {token}"}


async def open_session(client: httpx.AsyncClient, headers: dict) -> dict:
    r = await client.post("/mcp", json=INIT, headers=headers)
    assert r.status_code == 200, r.text
    h = {**headers, "mcp-session-id": r.headers["mcp-session-id"], "mcp-protocol-version": "2025-11-25"}
    await client.post("/mcp", json={"jsonrpc": "2.0", "method": "notifications/initialized"}, headers=h)
    return h


def call(name: str, args: dict, id_: int = 2) -> dict:
    return {"jsonrpc": "2.0", "id": id_, "method": "tools/call", "params": {"name": name, "arguments": args}}


async def test_metadata_and_401_challenge(issuer):
    async with served(oauth_settings(issuer)) as client:
        for path in ("/.well-known/oauth-protected-resource", "/.well-known/oauth-protected-resource/mcp"):
            meta = (await client.get(path)).json()
            assert meta["resource"] == RESOURCE and meta["authorization_servers"] == [issuer.url], meta
            assert {"anime:read", "anime:admin"} <= set(meta["scopes_supported"])
        r = await client.post("/mcp", json=INIT, headers=MCP_HEADERS)
        assert r.status_code == 401
        challenge = r.headers["www-authenticate"]
        assert (
            challenge.startswith("Bearer ")
            and 'resource_metadata="http://127.0.0.1:8000/.well-known/oauth-protected-resource/mcp"' in challenge
        )
        assert (await client.get("/health")).status_code in (200, 503)  # open, like before


async def test_good_token_searches(issuer, edge_runtime):
    async with served(oauth_settings(issuer), runtime=edge_runtime) as client:
        h = await open_session(client, bearer(issuer.token()))
        reply = rpc(await client.post("/mcp", json=call("search_anime", {"query": "pirates", "limit": 3}), headers=h))
        assert reply["result"]["structuredContent"]["results"], reply


@pytest.mark.parametrize(
    "make, reason",
    [
        (lambda iss: iss.token(aud="https://other.example/mcp"), "audience"),
        (lambda iss: iss.token(exp=-300), "expired"),
        (lambda iss: iss.token(iss="https://evil.example"), "issuer"),
        (lambda iss: iss.token()[:-8] + "AAAAAAAA", "signature"),
        (lambda iss: (iss.new_key("stray", publish=False), iss.token("stray"))[1], "unknown key id"),
        (lambda iss: "not-a-jwt", "neither a configured token nor a JWT"),
    ],
)
async def test_bad_tokens_get_401_saying_why(issuer, make, reason):
    token = make(issuer)
    async with served(oauth_settings(issuer)) as client:
        r = await client.post("/mcp", json=INIT, headers=bearer(token))
        assert r.status_code == 401, r.text
        assert reason in r.json()["error_description"], r.json()
        challenge = r.headers["www-authenticate"]
        assert 'error="invalid_token"' in challenge and reason in challenge and "resource_metadata=" in challenge
        assert token not in r.text


async def test_signature_by_another_key_with_a_known_kid(issuer):
    issuer.new_key("k2", publish=False)
    forged = jwt.encode(
        {"iss": issuer.url, "aud": RESOURCE, "exp": int(time.time()) + 300, "scope": "anime:admin"},
        issuer.keys["k2"],
        algorithm="RS256",
        headers={"kid": "k1"},
    )
    async with served(oauth_settings(issuer)) as client:
        r = await client.post("/mcp", json=INIT, headers=bearer(forged))
        assert r.status_code == 401 and "signature" in r.json()["error_description"]


async def test_missing_scope_gets_403_naming_it(issuer):
    async with served(oauth_settings(issuer)) as client:
        h = await open_session(client, bearer(issuer.token(scope="")))  # connecting needs no scope
        r = await client.post("/mcp", json=call("search_anime", {"query": "x"}), headers=h)
        assert r.status_code == 403
        assert "anime:read" in r.json()["error_description"]
        assert 'error="insufficient_scope"' in r.headers["www-authenticate"]
        assert 'scope="anime:read"' in r.headers["www-authenticate"]
        listed = rpc(await client.post("/mcp", json={"jsonrpc": "2.0", "id": 3, "method": "tools/list"}, headers=h))
        assert any(t["name"] == "search_anime" for t in listed["result"]["tools"])


async def test_admin_tools_need_admin_scope(issuer, fake, tmp_path):
    enrichment = fake.settings(tmp_path / "cache")
    async with served(oauth_settings(issuer), enrichment=enrichment) as client:
        reader = await open_session(client, bearer(issuer.token(scope="anime:read")))
        r = await client.post("/mcp", json=call("enrichment_status", {"job_id": "abc"}), headers=reader)
        assert r.status_code == 403 and "anime:admin" in r.json()["error_description"]
        assert 'scope="anime:read anime:admin"' in r.headers["www-authenticate"]
        admin = await open_session(client, bearer(issuer.token(scope="anime:read anime:admin", sub="admin-1")))
        reply = rpc(await client.post("/mcp", json=call("enrichment_status", {"job_id": "abc"}), headers=admin))
        assert reply["result"]["isError"] and "no enrichment job" in reply["result"]["content"][0]["text"]


async def test_jwks_rotation_is_picked_up(issuer):
    async with served(oauth_settings(issuer)) as client:
        assert (await client.post("/mcp", json=INIT, headers=bearer(issuer.token("k1")))).status_code == 200
        assert issuer.jwks_fetches == 1
        assert (await client.post("/mcp", json=INIT, headers=bearer(issuer.token("k1")))).status_code == 200
        assert issuer.jwks_fetches == 1  # cached
        issuer.new_key("k2")  # the issuer rotates: a new key id appears in its JWKS
        issuer.published.remove("k1")
        assert (await client.post("/mcp", json=INIT, headers=bearer(issuer.token("k2")))).status_code == 200
        assert issuer.jwks_fetches == 2


async def test_unknown_kid_refetch_is_rate_limited(issuer):
    async with served(oauth_settings(issuer, oauth_jwks_refetch_seconds=60)) as client:
        assert (await client.post("/mcp", json=INIT, headers=bearer(issuer.token("k1")))).status_code == 200
        for i in range(5):
            issuer.new_key(f"junk{i}", publish=False)
            r = await client.post("/mcp", json=INIT, headers=bearer(issuer.token(f"junk{i}")))
            assert r.status_code == 401 and "unknown key id" in r.json()["error_description"]
        assert issuer.jwks_fetches == 1  # made-up key ids do not make the server hammer the issuer


async def test_static_tokens_work_beside_oauth(issuer):
    settings = oauth_settings(issuer, auth_tokens=[SecretStr(STATIC)])
    async with served(settings) as client:
        assert (await client.post("/mcp", json=INIT, headers=bearer(STATIC))).status_code == 200
        assert (await client.post("/mcp", json=INIT, headers=bearer(issuer.token()))).status_code == 200
        r = await client.post("/mcp", json=INIT, headers=bearer(STATIC + "x"))
        assert r.status_code == 401


async def test_legacy_sse_transport_is_guarded_the_same_way(issuer):
    async with served(oauth_settings(issuer, transport="sse")) as client:
        assert (await client.get("/.well-known/oauth-protected-resource")).json()["resource"] == RESOURCE
        r = await client.get("/sse")
        assert r.status_code == 401 and "resource_metadata=" in r.headers["www-authenticate"]
        post = await client.post(
            "/messages/?session_id=" + "0" * 32,
            json=call("enrich_anime", {"anime": "x"}),
            headers=bearer(issuer.token(scope="anime:read")),
        )
        assert post.status_code == 403 and "anime:admin" in post.json()["error_description"]


async def test_issuer_unreachable_is_503_not_401(issuer):
    settings = oauth_settings(issuer, oauth_jwks_url="http://127.0.0.1:9/jwks", oauth_http_timeout=2.0)
    async with served(settings) as client:
        r = await client.post("/mcp", json=INIT, headers=bearer(issuer.token()))
        assert r.status_code == 503 and "try again" in r.json()["error_description"]


def test_config_errors_name_the_variable(issuer):
    with pytest.raises(UnsafeBindError, match="ANIME_MCP_OAUTH_RESOURCE_URL"):
        check_auth(oauth_settings(issuer, oauth_resource_url=None))
    with pytest.raises(UnsafeBindError, match="https"):
        check_auth(oauth_settings(issuer, oauth_issuer="http://idp.example.org/realms/anime"))
    with pytest.raises(ValueError, match="asymmetric"):
        oauth_settings(issuer, oauth_algorithms=["HS256"])
    check_bind(oauth_settings(issuer, host="0.0.0.0"))  # OAuth counts as authentication for a public bind
