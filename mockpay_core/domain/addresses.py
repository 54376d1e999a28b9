"""The SSRF guard's rules: which addresses a webhook may be sent to.

A webhook URL is checked twice: when the payment is created (IP literals in every form
``inet_aton`` accepts, and ``localhost`` names) and again at connect time, on every address
the name resolved to, and the connection goes to the address that was checked (no DNS
rebinding between check and use).

Modes: ``local`` (the default, for a mock on a developer's machine) allows loopback and
public addresses; ``public`` allows public addresses only; ``off`` allows everything.
Private, link-local (169.254.169.254, the cloud metadata service), carrier-grade NAT,
multicast, reserved and unspecified addresses are refused unless ``allowed_networks``
lists them. IPv4 embedded in IPv6 (mapped, compatible, 6to4, NAT64) is judged as IPv4.
"""

from __future__ import annotations

import ipaddress
from typing import Annotated, Final, Literal
from urllib.parse import urlsplit

from pydantic import BaseModel, ConfigDict, Field

IP = ipaddress.IPv4Address | ipaddress.IPv6Address
Network = ipaddress.IPv4Network | ipaddress.IPv6Network

_CGNAT: Final = ipaddress.IPv4Network("100.64.0.0/10")
_NAT64: Final = ipaddress.IPv6Network("64:ff9b::/96")
_V4_COMPATIBLE: Final = ipaddress.IPv6Network("::/96")


class AddressRefused(ValueError):
    """The address is not one webhooks may go to under the policy."""


class AddressPolicy(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    mode: Literal["local", "public", "off"] = "local"
    allowed_networks: Annotated[tuple[Network, ...], Field(max_length=100)] = ()


def _embedded_v4(ip: IP) -> IP:
    if isinstance(ip, ipaddress.IPv6Address):
        if ip.ipv4_mapped is not None:
            return ip.ipv4_mapped
        if ip.sixtofour is not None:
            return ip.sixtofour
        if ip in _NAT64 or (ip in _V4_COMPATIBLE and int(ip) > 1):
            return ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF)
    return ip


def classify(ip: IP) -> str | None:
    """The kind of special address ``ip`` is, or None for an ordinary public one."""
    ip = _embedded_v4(ip)
    checks = (
        ("loopback", ip.is_loopback),
        ("unspecified", ip.is_unspecified),
        ("link-local", ip.is_link_local),
        ("carrier-grade NAT", isinstance(ip, ipaddress.IPv4Address) and ip in _CGNAT),
        ("multicast", ip.is_multicast),
        ("private", ip.is_private),
        ("reserved", ip.is_reserved or not ip.is_global),
    )
    return next((kind for kind, hit in checks if hit), None)


def check_ip(ip: IP, policy: AddressPolicy) -> None:
    """Raise ``AddressRefused`` unless the policy lets webhooks reach ``ip``."""
    kind = classify(ip)
    if kind is None or policy.mode == "off":
        return
    if kind == "loopback" and policy.mode == "local":
        return
    if any(ip.version == net.version and ip in net for net in policy.allowed_networks):
        return
    raise AddressRefused(f"address {ip} is {kind}: webhooks may not go there")


def _inet_aton(host: str) -> ipaddress.IPv4Address | None:
    """IPv4 in every form the C library accepts: 127.1, 2130706433, 0x7f.1, 0177.0.0.1."""
    parts = host.split(".")
    if not 1 <= len(parts) <= 4:
        return None
    values = []
    for part in parts:
        try:
            if part.lower().startswith("0x"):
                values.append(int(part[2:] or "0", 16))
            elif len(part) > 1 and part.startswith("0"):
                values.append(int(part, 8))
            else:
                values.append(int(part, 10) if part.isdigit() else -1)
        except ValueError:
            return None
    if any(v < 0 for v in values):
        return None
    *head, last = values
    if any(v > 255 for v in head) or last >= 256 ** (4 - len(head)):
        return None
    number = 0
    for v in head:
        number = number * 256 + v
    return ipaddress.IPv4Address(number * 256 ** (4 - len(head)) + last)


def ip_literal(host: str) -> IP | None:
    """The address a URL host names literally, or None for a DNS name."""
    host = host.strip("[]").split("%", 1)[0]
    try:
        return ipaddress.ip_address(host)
    except ValueError:
        return _inet_aton(host)


def check_url(url: str, policy: AddressPolicy) -> None:
    """The check at creation: literal addresses and ``localhost`` names (no DNS here)."""
    host = (urlsplit(url).hostname or "").rstrip(".").lower()
    if host == "localhost" or host.endswith(".localhost"):
        check_ip(ipaddress.IPv4Address("127.0.0.1"), policy)
        return
    ip = ip_literal(host)
    if ip is not None:
        check_ip(ip, policy)
