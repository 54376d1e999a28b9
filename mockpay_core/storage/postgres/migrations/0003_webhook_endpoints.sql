-- The Stripe face's WebhookEndpoints (docs/stripe-phase2.md): each matching endpoint gets
-- its own copy of an event (events.endpoint_id), so it has its own delivery, retries and
-- dead letter in the one outbox.
CREATE TABLE webhook_endpoints (
    id             text COLLATE "C" PRIMARY KEY,
    tenant_id      text COLLATE "C" NOT NULL REFERENCES tenants(id),
    url            text COLLATE "C" NOT NULL,
    enabled_events json NOT NULL,
    secret         text COLLATE "C" NOT NULL,
    status         text COLLATE "C" NOT NULL,
    description    text COLLATE "C",
    metadata       json NOT NULL DEFAULT '{}',
    api_version    text COLLATE "C",
    created_at     timestamptz NOT NULL,
    deleted_at     timestamptz
);
CREATE INDEX webhook_endpoints_page ON webhook_endpoints (tenant_id, created_at DESC, id DESC);
ALTER TABLE events ADD COLUMN endpoint_id text COLLATE "C" REFERENCES webhook_endpoints(id);
