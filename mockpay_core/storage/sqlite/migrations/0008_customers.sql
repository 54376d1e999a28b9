-- The Stripe face's Customers (cus_): a PaymentIntent's customer=cus_... is also its
-- payment's customer, so the per-customer fraud rules count that Customer's payments.
CREATE TABLE customers (
    id          TEXT PRIMARY KEY,
    tenant_id   TEXT NOT NULL REFERENCES tenants(id),
    email       TEXT,
    name        TEXT,
    description TEXT,
    metadata    TEXT NOT NULL DEFAULT '{}',
    created_at  TEXT NOT NULL,
    updated_at  TEXT NOT NULL,
    deleted_at  TEXT
);
CREATE INDEX customers_page ON customers (tenant_id, created_at DESC, id DESC);
