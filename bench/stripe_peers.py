"""The same Stripe SDK script against our /v1 and against localstripe, in one run.

    .venv/bin/python bench/stripe_peers.py [--seconds 2] [--rounds 1] [--connections 8]

Each peer runs on 127.0.0.1 in a process of its own: ``mockpay serve --clock simulated``
on a temporary SQLite file (default fraud rules off, a tenant registered through
``/api/auth/register``), and ``localstripe --from-scratch --port <p>``: from PATH, else
installed by this script with pip into a temporary venv (no dependency of the project). The official
``stripe`` Python SDK then plays these steps on each, each passing or failing:

- idempotent replay: the same Idempotency-Key twice gives the same PaymentIntent, the
  second answer marked ``Idempotent-Replayed: true``;
- mismatch error: the same key with another amount raises ``IdempotencyError``;
- over-refund refused: a refund of more than the charge raises ``InvalidRequestError``;
- declines by test card: ``pm_card_chargeDeclined...`` raise ``CardError`` with Stripe's
  ``decline_code`` (each card of ``DECLINES``);
- confirm again after a decline: a PaymentIntent declined by ``pm_card_chargeDeclined``
  is confirmed again with ``pm_card_visa`` and succeeds (Stripe's retry with another card);
- webhook delivered and verified: a WebhookEndpoint (on localstripe, its own
  ``/_config/webhooks`` when the Stripe route is missing) gets ``payment_intent.succeeded``,
  which ``stripe.Webhook.construct_event`` accepts;
- retry after a receiver error: the receiver answers 500 once; the same event comes again
  (ours: when the admin clock route moves the simulated clock 6 s; localstripe: within
  ``RETRY_WAIT_S`` of real time).

Then PaymentIntent create+confirm (``pm_card_visa``) per second at ``--connections``
connections (a thread and a client each) for ``--seconds`` after ``WARMUP_S``; with
``--rounds N`` the median of N alternating runs. It prints the table and ours /
localstripe (the issue's targets: every step passes on ours, ratio >= 5).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import venv
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from http.server import BaseHTTPRequestHandler
from pathlib import Path

import httpx
import stripe

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from server.testing import ProcessNotReady, http_on_thread, mockpay_argv, serving  # noqa: E402

WARMUP_S = 0.5
RETRY_WAIT_S = 3.0
DELIVERY_WAIT_S = 5.0
PIP_S_MAX = 300
ADMIN_TOKEN = "stripe-peers-admin-token"
DECLINES = {
    "pm_card_chargeDeclined": "generic_decline",
    "pm_card_chargeDeclinedInsufficientFunds": "insufficient_funds",
    "pm_card_chargeDeclinedExpiredCard": "expired_card",
}
RATIO_MIN = 5.0


@dataclass
class Receiver:
    """A webhook receiver on 127.0.0.1: answers the first ``fail_first`` deliveries of
    ``payment_intent.succeeded`` with 500, everything else with 200."""

    fail_first: int = 0
    requests: list[tuple[dict[str, str], bytes]] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)
    url: str = ""

    def succeeded(self) -> list[tuple[dict[str, str], bytes]]:
        """The deliveries of ``payment_intent.succeeded`` (a peer may send other types too)."""
        with self.lock:
            return [r for r in self.requests if b'"payment_intent.succeeded"' in r[1]]

    def wait(self, count: int, timeout_s: float, tick: Callable[[], None]) -> bool:
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            tick()
            if len(self.succeeded()) >= count:
                return True
            time.sleep(0.05)
        return False


@contextlib.contextmanager
def receiving(fail_first: int = 0) -> Iterator[Receiver]:
    receiver = Receiver(fail_first)

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
            with receiver.lock:
                receiver.requests.append(({k.lower(): v for k, v in self.headers.items()}, body))
                wanted = sum(b'"payment_intent.succeeded"' in b for _, b in receiver.requests)
                failing = b'"payment_intent.succeeded"' in body and wanted <= receiver.fail_first
            self.send_response(500 if failing else 200)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, *args: object) -> None:
            pass

    with http_on_thread(Handler) as port:
        receiver.url = f"http://127.0.0.1:{port}/stripe"
        yield receiver


@dataclass
class Peer:
    name: str
    url: str
    key: str
    tick: Callable[[float], None]  # move the peer's clock (ours) or nothing
    hook: Callable[[str], str]  # register a receiver URL for payment_intent.succeeded: secret

    def client(self) -> stripe.StripeClient:
        return stripe.StripeClient(self.key, base_addresses={"api": self.url},
                                   max_network_retries=0)  # fmt: skip


@contextlib.contextmanager
def ours(tmp: Path) -> Iterator[Peer]:
    env = {**os.environ, "MOCKPAY_DEFAULT_FRAUD_RULES": "false", "MOCKPAY_ADMIN_TOKEN": ADMIN_TOKEN}
    argv = mockpay_argv("serve", "--db", str(tmp / "ours.db"), "--clock", "simulated")
    with serving(argv, str(tmp / "ours.log"), env=env) as served:
        admin = {"Authorization": f"Bearer {ADMIN_TOKEN}"}
        http = httpx.Client(base_url=served.url, timeout=30)
        key = http.post("/api/auth/register", json={"name": "peers", "email": "p@x.test"})
        clock = http.get("/api/admin/clock", headers=admin).json()
        behind_s = time.time() - datetime.fromisoformat(clock["now"]).timestamp()

        def tick(seconds: float = 0) -> None:
            http.post("/api/admin/clock/advance", headers=admin, json={"seconds": seconds})

        tick(max(0.0, behind_s))  # signatures on the real time, which construct_event checks

        def hook(url: str) -> str:
            """An endpoint for ``url``, the earlier ones deleted: a payment's deliveries go in
            order, so a gone receiver's endpoint would hold back the next one's."""
            client = stripe.StripeClient(key.json()["api_key"], base_addresses={"api": served.url})
            for old in client.v1.webhook_endpoints.list().data:
                client.v1.webhook_endpoints.delete(old.id)
            made = client.v1.webhook_endpoints.create(
                params={"url": url, "enabled_events": ["payment_intent.succeeded"]}
            )
            return str(made.secret)

        try:
            yield Peer("ours", served.url, key.json()["api_key"], tick, hook)
        finally:
            http.close()


def localstripe_command(tmp: Path) -> list[str]:
    """``localstripe`` from PATH, else from a venv of its own made here with pip."""
    found = shutil.which("localstripe")
    if found:
        return [found]
    where = tmp / "localstripe-venv"
    venv.create(where, with_pip=True)
    pip = where / "bin" / "pip"
    subprocess.run([str(pip), "install", "--quiet", "localstripe"], check=True,
                   timeout=PIP_S_MAX)  # fmt: skip
    return [str(where / "bin" / "localstripe")]


@contextlib.contextmanager
def localstripe(tmp: Path) -> Iterator[Peer]:
    # --from-scratch: not the state it pickles to /tmp/localstripe.pickle after each change
    argv = [*localstripe_command(tmp), "--from-scratch"]
    with serving(argv, str(tmp / "localstripe.log")) as served:
        http = httpx.Client(base_url=served.url, timeout=30)

        def hook(url: str) -> str:
            secret = "whsec_peers"
            try:
                client = stripe.StripeClient("sk_test_peers", base_addresses={"api": served.url})
                made = client.v1.webhook_endpoints.create(
                    params={"url": url, "enabled_events": ["payment_intent.succeeded"]}
                )
                return str(made.secret)
            except stripe.StripeError:  # not a route there: its own configuration route
                config = {"url": url, "secret": secret}  # no events: every one
                http.post("/_config/webhooks/peers", data=config).raise_for_status()
                return secret

        try:
            yield Peer("localstripe", served.url, "sk_test_peers", lambda s=0: None, hook)
        finally:
            http.close()


def _pi(
    client: stripe.StripeClient, key: str | None = None, **params: object
) -> stripe.PaymentIntent:
    options = {"idempotency_key": key} if key else {}
    return client.v1.payment_intents.create(
        params={"amount": 2000, "currency": "usd", "payment_method": "pm_card_visa",
                "confirm": True, **params}, options=options,  # type: ignore[arg-type]
    )  # fmt: skip


def step_replay(peer: Peer) -> str | None:
    client, key = peer.client(), f"replay-{time.time_ns()}"
    first, again = _pi(client, key), _pi(client, key)
    replayed = (
        again.last_response.headers.get("Idempotent-Replayed") if again.last_response else None
    )
    if first.id != again.id:
        return "the same key made a second PaymentIntent"
    return None if replayed == "true" else "no Idempotent-Replayed: true"


def _raises(call: Callable[[], object], wanted: type[stripe.StripeError]) -> str | None:
    try:
        call()
    except wanted:
        return None
    except stripe.StripeError as exc:
        return f"{type(exc).__name__}, not {wanted.__name__}"
    return f"accepted, no {wanted.__name__}"


def step_mismatch(peer: Peer) -> str | None:
    client, key = peer.client(), f"mismatch-{time.time_ns()}"
    _pi(client, key)
    return _raises(lambda: _pi(client, key, amount=2001), stripe.IdempotencyError)


def step_over_refund(peer: Peer) -> str | None:
    client = peer.client()
    pi = _pi(client)
    refund = {"payment_intent": pi.id, "amount": 2001}
    return _raises(lambda: client.v1.refunds.create(params=refund), stripe.InvalidRequestError)


def step_declines(peer: Peer) -> str | None:
    client = peer.client()
    for card, code in DECLINES.items():
        try:
            pi = _pi(client, payment_method=card)
            return f"{card}: {pi.status}, no CardError"
        except stripe.CardError as exc:
            got = exc.error.decline_code if exc.error else None
            if got != code:
                return f"{card}: decline_code {got}, not {code}"
    return None


def step_confirm_again(peer: Peer) -> str | None:
    client = peer.client()
    try:
        pi = _pi(client, payment_method="pm_card_chargeDeclined")
        return f"pm_card_chargeDeclined: {pi.status}, no CardError"
    except stripe.CardError as exc:
        declined = exc.error.payment_intent if exc.error else None
    if declined is None:
        return "the CardError names no PaymentIntent"
    again = client.v1.payment_intents.confirm(
        declined.id, params={"payment_method": "pm_card_visa"}
    )
    return None if again.status == "succeeded" else f"confirmed again: {again.status}"


def _delivered(peer: Peer, fail_first: int) -> str | None:
    with receiving(fail_first) as receiver:
        secret = peer.hook(receiver.url)
        _pi(peer.client())
        if not receiver.wait(1, DELIVERY_WAIT_S, peer.tick):
            return f"no delivery in {DELIVERY_WAIT_S:g} s"
        if fail_first:
            peer.tick(6)  # ours: the first retry is due 5 s (+-10 %) later on its clock
            if not receiver.wait(2, RETRY_WAIT_S, peer.tick):
                return f"no retry after the 500 in {RETRY_WAIT_S:g} s"
        seen = receiver.succeeded()
        headers, body = seen[-1]
        try:
            event = stripe.Webhook.construct_event(
                body.decode(), headers.get("stripe-signature", ""), secret
            )
        except (stripe.SignatureVerificationError, ValueError) as exc:
            return f"construct_event refused it: {exc}"[:80]
        if fail_first and json.loads(seen[0][1]).get("id") != event.id:
            return "the retry is another event"
        return None if event.type == "payment_intent.succeeded" else f"a {event.type} event"


def step_webhook(peer: Peer) -> str | None:
    return _delivered(peer, fail_first=0)


def step_retry(peer: Peer) -> str | None:
    return _delivered(peer, fail_first=1)


STEPS: dict[str, Callable[[Peer], str | None]] = {
    "idempotent replay": step_replay,
    "mismatch error": step_mismatch,
    "over-refund refused": step_over_refund,
    "declines by test card": step_declines,
    "confirm again after a decline": step_confirm_again,
    "webhook delivered and verified": step_webhook,
    "retry after a receiver error": step_retry,
}


def run_steps(peer: Peer) -> dict[str, str | None]:
    """Each step's failure, in a few words (None: it passed)."""
    found: dict[str, str | None] = {}
    for name, step in STEPS.items():
        try:
            found[name] = step(peer)
        except (stripe.StripeError, httpx.HTTPError, OSError) as exc:
            found[name] = f"{type(exc).__name__}: {str(exc)[:70]}"
    return found


def create_confirm_rate(peer: Peer, connections: int, seconds: float) -> float:
    """PaymentIntents created and confirmed per second, ``connections`` threads at once."""
    counts = [0] * connections
    start = time.monotonic()
    warm, stop = start + WARMUP_S, start + WARMUP_S + seconds

    def work(i: int) -> None:
        client = peer.client()
        while (now := time.monotonic()) < stop:
            try:
                pi = _pi(client)
            except stripe.StripeError:
                continue
            if now >= warm and pi.status == "succeeded":
                counts[i] += 1

    threads = [threading.Thread(target=work, args=(i,)) for i in range(connections)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return sum(counts) / seconds


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=2.0, help="timed seconds per run")
    parser.add_argument("--rounds", type=int, default=1, help="runs per peer (median)")
    parser.add_argument("--connections", type=int, default=8, help="concurrent clients")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as tmp_name, contextlib.ExitStack() as stack:
        tmp = Path(tmp_name)
        try:
            peers = [stack.enter_context(ours(tmp)), stack.enter_context(localstripe(tmp))]
        except ProcessNotReady as exc:
            logs = "".join(p.read_text(errors="replace")[-2000:] for p in tmp.glob("*.log"))
            print(f"a peer did not start: {exc}\n{logs}", file=sys.stderr)
            return 2
        steps = {p.name: run_steps(p) for p in peers}
        rates: dict[str, list[float]] = {p.name: [] for p in peers}
        for _ in range(args.rounds):
            for p in peers:
                rates[p.name].append(create_confirm_rate(p, args.connections, args.seconds))
    print(f"| step | {' | '.join(steps)} |")
    print(f"|---|{'---|' * len(steps)}")
    for name in STEPS:
        print(f"| {name} | {' | '.join('FAIL' if s[name] else 'pass' for s in steps.values())} |")
    median = {n: statistics.median(r) for n, r in rates.items()}
    print(f"| create+confirm/s at {args.connections} connections | "
          + " | ".join(f"{median[n]:,.0f}" for n in steps) + " |")  # fmt: skip
    ratio = median["ours"] / median["localstripe"] if median["localstripe"] else float("inf")
    passed = not any(steps["ours"].values())
    print(f"ratio ours / localstripe: {ratio:.1f} (target >= {RATIO_MIN:g}:"
          f" {'met' if ratio >= RATIO_MIN else 'not met'}); every step on ours:"
          f" {'pass' if passed else 'FAIL'}")  # fmt: skip
    for peer, found in steps.items():
        for name, why in found.items():
            if why:
                print(f"{peer}, {name}: {why}")
    return 0 if passed else 1


if __name__ == "__main__":
    sys.exit(main())
