-- The Stripe face's WebhookEndpoints (docs/stripe-phase2.md): each matching endpoint gets
-- its own copy of an event (events.endpoint_id), so it has its own delivery, retries and
-- dead letter in the one outbox.
CREATE TABLE webhook_endpoints (
    id             TEXT PRIMARY KEY,
    tenant_id      TEXT NOT NULL REFERENCES tenants(id),
    url            TEXT NOT NULL,
    enabled_events TEXT NOT NULL,              -- JSON list of Stripe event types, or ["*"]
    secret         TEXT NOT NULL,              -- whsec_...: signs Stripe-Signature
    status         TEXT NOT NULL,              -- enabled or disabled
    description    TEXT,
    metadata       TEXT NOT NULL DEFAULT '{}',
    api_version    TEXT,
    created_at     TEXT NOT NULL,
    deleted_at     TEXT
);
CREATE INDEX webhook_endpoints_page ON webhook_endpoints (tenant_id, created_at DESC, id DESC);
ALTER TABLE events ADD COLUMN endpoint_id TEXT REFERENCES webhook_endpoints(id);
