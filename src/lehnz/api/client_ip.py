"""The client's address, for the per-IP limit of the auth endpoints (and its protocol, for the
dashboard's cookies).

``X-Forwarded-For`` is trusted only from the proxies named in ``LEHNZ_TRUSTED_PROXIES``:
anyone can send the header, so honouring it from anyone would let a client pick a fresh
address for every request. The client is the last hop not added by a trusted proxy.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Sequence

Network = ipaddress.IPv4Network | ipaddress.IPv6Network


def _trusted(address: str, networks: Sequence[Network]) -> bool:
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return False
    return any(ip in network for network in networks)


def forwarded_https(
    peer: str | None, forwarded_proto: str | None, networks: Sequence[Network]
) -> bool:
    """Whether a trusted proxy says the client reached it over HTTPS (``X-Forwarded-Proto``),
    so the dashboard marks its cookies ``Secure`` behind a TLS-terminating proxy."""
    if not forwarded_proto or peer is None or not _trusted(peer, networks):
        return False
    return forwarded_proto.split(",")[0].strip().lower() == "https"


def client_ip(peer: str | None, forwarded_for: str | None, networks: Sequence[Network]) -> str:
    address = peer or "unknown"
    if not forwarded_for or not _trusted(address, networks):
        return address
    hops = [hop.strip() for hop in forwarded_for.split(",") if hop.strip()]
    for hop in reversed(hops):
        if not _trusted(hop, networks):
            return hop
    return hops[0] if hops else address
