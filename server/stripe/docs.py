"""The tables docs/stripe.md and the README show, rendered from the code that decides
(tests/stripe/test_docs.py checks that the docs hold them as rendered)."""

from __future__ import annotations

from server.stripe import cards, errors, statuses, views, webhooks


def status_table() -> str:
    return statuses.markdown_table()


def cards_table() -> str:
    lines = [
        "| payment method (or `tok_...`) | card number | outcome | `code` | `decline_code` |",
        "|---|---|---|---|---|",
    ]
    for c in cards.CARDS:
        outcome = {
            cards.Kind.SUCCEED: "succeeds",
            cards.Kind.DECLINE: "declined: 402 `CardError`",
            cards.Kind.BLOCK: "blocked by our fraud rules: 402 `CardError`",
            cards.Kind.DISPUTE: "succeeds, then a dispute opens",
        }[c.kind]
        number = f"`{c.number}`" if c.number else "-"
        code = f"`{c.code}`" if c.code else "-"
        decline = f"`{c.decline_code}`" if c.decline_code else "-"
        lines.append(f"| `{c.name}` | {number} | {outcome} | {code} | {decline} |")
    return "\n".join(lines)


def events_table() -> str:
    lines = ["| MockPay event | Stripe event |", "|---|---|"]
    lines += [f"| `{ours}` | `{theirs}` |" for ours, theirs in views.EVENT_TYPES.items()]
    return "\n".join(lines)


def webhooks_table() -> str:
    lines = ["| MockPay event | sent to WebhookEndpoints as |", "|---|---|"]
    for ours in views.EVENT_TYPES:
        sent = ", ".join(f"`{t}`" for t in webhooks.webhook_types(ours))
        lines.append(f"| `{ours}` | {sent} |")
    return "\n".join(lines)


def errors_table() -> str:
    lines = ["| engine error | HTTP | Stripe `type` | Stripe `code` |", "|---|---|---|---|"]
    for cls, kind in errors.STRIPE.items():
        lines.append(f"| `{cls.__name__}` | {kind.status} | `{kind.type}` | `{kind.code}` |")
    return "\n".join(lines)
