"""SSRF guard for image downloads: only public addresses may be reached.

Image URLs come from data files and from users, so a URL could point at the cloud metadata service
or a private admin page. The check happens where the socket is opened: the network backend resolves
the host itself, refuses non-public addresses and connects to the checked IP (TLS still verifies the
host name), so a DNS answer that changes between check and connect cannot slip through.
"""

from __future__ import annotations

import ipaddress
import logging
import socket
import typing

import anyio
import httpcore
import httpx

from index.embedding.errors import ImageInputError

logger = logging.getLogger(__name__)

_FIX = "set ANIME_MCP_IMAGE_ALLOW_PRIVATE_HOSTS=true only if you trust every image URL"


def address_allowed(address: str) -> bool:
    """Public unicast only: no loopback, private, link-local (cloud metadata), CGNAT, multicast, reserved."""
    ip = ipaddress.ip_address(address.split("%", 1)[0])
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    return ip.is_global and not ip.is_multicast


async def resolve_checked(host: str, port: int, allow_private: bool) -> list[str]:
    """The host's addresses, all checked; one refused address refuses the host."""
    try:
        infos = await anyio.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except OSError as exc:
        raise ImageInputError(f"cannot resolve image host {host!r}: {exc}") from exc
    addresses = list(dict.fromkeys(str(info[4][0]) for info in infos))
    if not addresses:
        raise ImageInputError(f"image host {host!r} has no address")
    if not allow_private:
        for address in addresses:
            if not address_allowed(address):
                raise ImageInputError(f"image host {host!r} resolves to non-public address {address}: refused ({_FIX})")
    return addresses


class GuardedBackend(httpcore.AsyncNetworkBackend):
    """Wraps httpcore's backend: resolve, check, then connect to the checked address."""

    def __init__(self, inner: httpcore.AsyncNetworkBackend, allow_private: bool) -> None:
        self._inner = inner
        self._allow_private = allow_private

    async def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: typing.Iterable[httpcore.SOCKET_OPTION] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        addresses = await resolve_checked(host, port, self._allow_private)
        last: Exception | None = None
        for address in addresses:
            try:
                return await self._inner.connect_tcp(
                    address, port, timeout=timeout, local_address=local_address, socket_options=socket_options
                )
            except (httpcore.ConnectError, httpcore.ConnectTimeout) as exc:
                last = exc
        assert last is not None
        raise last

    async def connect_unix_socket(self, path, timeout=None, socket_options=None):  # pragma: no cover
        raise ImageInputError("image downloads never use unix sockets")

    async def sleep(self, seconds: float) -> None:
        await self._inner.sleep(seconds)


def guarded_transport(allow_private: bool) -> httpx.AsyncHTTPTransport:
    """An httpx transport whose connections pass the address check. No proxies from the environment:
    a proxy would hide the real destination from the check."""
    transport = httpx.AsyncHTTPTransport(trust_env=False, retries=0)
    pool = getattr(transport, "_pool", None)
    backend = getattr(pool, "_network_backend", None)
    if pool is None or backend is None:  # httpx internals changed: still safe thanks to the pre-check, but say so
        logger.warning("httpx transport has no network backend to guard; relying on the host pre-check only")
    else:
        pool._network_backend = GuardedBackend(backend, allow_private)
    return transport
