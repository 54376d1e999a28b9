"""The SSRF guard over ~30 address forms, at creation and at connect time."""

from __future__ import annotations

import ipaddress

import httpx
import pytest

from mockpay_core.delivery.transport import GuardedTransport, refused_by_guard
from mockpay_core.domain.addresses import (
    AddressPolicy,
    AddressRefused,
    check_ip,
    check_url,
    ip_literal,
)

LOCAL, PUBLIC, OFF = AddressPolicy(), AddressPolicy(mode="public"), AddressPolicy(mode="off")

# (host as written in a URL, what it is, allowed by the default "local" mode)
FORMS = [
    ("127.0.0.1", "127.0.0.1", True),
    ("127.1", "127.0.0.1", True),
    ("2130706433", "127.0.0.1", True),
    ("0x7f000001", "127.0.0.1", True),
    ("0x7f.0.0.1", "127.0.0.1", True),
    ("0177.0.0.1", "127.0.0.1", True),
    ("0177.1", "127.0.0.1", True),
    ("[::1]", "::1", True),
    ("[::ffff:127.0.0.1]", "::ffff:127.0.0.1", True),
    ("10.0.0.1", "10.0.0.1", False),
    ("012.0.0.1", "10.0.0.1", False),
    ("167772161", "10.0.0.1", False),
    ("172.16.5.4", "172.16.5.4", False),
    ("192.168.1.1", "192.168.1.1", False),
    ("0xc0a80101", "192.168.1.1", False),
    ("169.254.169.254", "169.254.169.254", False),
    ("2852039166", "169.254.169.254", False),
    ("0xa9.0xfe.0xa9.0xfe", "169.254.169.254", False),
    ("[::ffff:169.254.169.254]", "::ffff:169.254.169.254", False),
    ("[::ffff:a9fe:a9fe]", "::ffff:169.254.169.254", False),
    ("[64:ff9b::a9fe:a9fe]", "64:ff9b::a9fe:a9fe", False),
    ("[2002:a9fe:a9fe::1]", "2002:a9fe:a9fe::1", False),
    ("[fe80::1%25eth0]", "fe80::1", False),
    ("100.64.0.1", "100.64.0.1", False),
    ("224.0.0.1", "224.0.0.1", False),
    ("[ff02::1]", "ff02::1", False),
    ("0.0.0.0", "0.0.0.0", False),
    ("0", "0.0.0.0", False),
    ("[::]", "::", False),
    ("240.0.0.1", "240.0.0.1", False),
    ("255.255.255.255", "255.255.255.255", False),
    ("[fc00::1]", "fc00::1", False),
    ("8.8.8.8", "8.8.8.8", True),
    ("134744072", "8.8.8.8", True),
    ("[2606:4700:4700::1111]", "2606:4700:4700::1111", True),
]


@pytest.mark.parametrize(("host", "address", "local_ok"), FORMS)
def test_address_forms_at_creation(host: str, address: str, local_ok: bool) -> None:
    url = f"http://{host}:8080/hooks"
    literal = ip_literal(host.replace("%25", "%"))
    assert literal == ipaddress.ip_address(address)
    public_ok = local_ok and not literal.is_loopback and not getattr(literal, "ipv4_mapped", None)
    for policy, ok in ((LOCAL, local_ok), (PUBLIC, public_ok), (OFF, True)):
        if ok:
            check_url(url.replace("%25", "%"), policy)
        else:
            with pytest.raises(AddressRefused):
                check_url(url.replace("%25", "%"), policy)


@pytest.mark.parametrize("name", ["localhost", "api.localhost", "LOCALHOST."])
def test_localhost_names(name: str) -> None:
    check_url(f"http://{name}/", LOCAL)
    with pytest.raises(AddressRefused, match="loopback"):
        check_url(f"http://{name}/", PUBLIC)


def test_ordinary_names_wait_for_connect_time() -> None:
    check_url("https://hooks.example.com/x", PUBLIC)
    assert ip_literal("hooks.example.com") is None
    assert ip_literal("1.2.3.4.5") is None and ip_literal("256.1.1.1") is None


def test_allowed_networks_open_a_hole() -> None:
    policy = AddressPolicy(mode="public", allowed_networks=(ipaddress.ip_network("10.1.0.0/16"),))
    check_ip(ipaddress.ip_address("10.1.2.3"), policy)
    with pytest.raises(AddressRefused):
        check_ip(ipaddress.ip_address("10.2.0.1"), policy)


@pytest.mark.parametrize(
    ("resolved", "refused"),
    [
        (["169.254.169.254"], True),
        (["10.0.0.7"], True),
        (["93.184.216.34", "10.0.0.7"], True),  # any bad address refuses the name
        (["::ffff:192.168.0.1"], True),
        (["127.0.0.1"], False),  # loopback is fine in local mode: the connection is refused
    ],
)
def test_names_resolving_to_bad_addresses_are_refused_at_connect(
    resolved: list[str], refused: bool
) -> None:
    transport = GuardedTransport(LOCAL, resolve=lambda host, port: resolved)
    with httpx.Client(transport=transport) as client, pytest.raises(httpx.ConnectError) as info:
        client.post("http://rebinding.example:9/", content=b"{}")
    assert refused_by_guard(info.value) is refused
