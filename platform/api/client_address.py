"""The client address of a request, as sign-in throttling counts it.

``mom serve`` runs uvicorn without its proxy-header handling (which by default believes
``X-Forwarded-For`` from 127.0.0.1, so anyone on the server could claim any address), and the
address is picked here instead, the same whatever uvicorn version is installed:

- the connecting peer, unless it is one of ``MOM_TRUSTED_PROXIES`` (default: none);
- behind a trusted proxy, the right-most address of ``X-Forwarded-For`` that is not itself a
  trusted proxy: each proxy appends the address it saw, so everything left of that was written by
  the client and proves nothing; if every entry is a trusted proxy, the left-most one.
"""
from __future__ import annotations

import ipaddress
from collections.abc import Iterable
from functools import lru_cache

from starlette.requests import Request

Network = ipaddress.IPv4Network | ipaddress.IPv6Network
MAX_LEN = 255


@lru_cache(maxsize=16)
def trusted_networks(spec: str) -> tuple[Network, ...]:
    """Parse ``MOM_TRUSTED_PROXIES`` (comma-separated addresses or networks); ValueError names a bad entry."""
    out = []
    for item in (p.strip() for p in spec.split(",")):
        if not item:
            continue
        try:
            out.append(ipaddress.ip_network(item, strict=False))
        except ValueError:
            raise ValueError(item) from None
    return tuple(out)


def _ip(entry: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    """An X-Forwarded-For entry as an address (``1.2.3.4``, ``1.2.3.4:5678``, ``[::1]:80``, ``::1``), or None."""
    e = entry.strip().strip('"')
    if e.startswith("["):
        e = e[1:].split("]", 1)[0]
    elif e.count(":") == 1:
        e = e.split(":", 1)[0]
    try:
        return ipaddress.ip_address(e)
    except ValueError:
        return None


def _trusted(entry: str, networks: tuple[Network, ...]) -> bool:
    ip = _ip(entry)
    return ip is not None and any(ip in n for n in networks)


def pick(peer: str, forwarded_for: Iterable[str], networks: tuple[Network, ...]) -> str:
    """The client address: ``peer`` unless it is a trusted proxy, else the right-most untrusted entry of
    the X-Forwarded-For chain (all header lines joined in order), else its left-most entry."""
    if not networks or not _trusted(peer, networks):
        return peer[:MAX_LEN]
    chain = [e.strip() for line in forwarded_for for e in line.split(",") if e.strip()]
    for entry in reversed(chain):
        if not _trusted(entry, networks):
            ip = _ip(entry)
            return (str(ip) if ip is not None else entry)[:MAX_LEN]
    return (str(_ip(chain[0])) if chain else peer)[:MAX_LEN]


def client_address(request: Request, trusted_proxies: str) -> str:
    """The address sign-in throttling counts for ``request`` (see the module docstring)."""
    peer = request.client.host if request.client else "unknown"
    return pick(peer, request.headers.getlist("x-forwarded-for"), trusted_networks(trusted_proxies))
