-- The Stripe face's Customers (cus_): a PaymentIntent's customer=cus_... is also its
-- payment's customer, so the per-customer fraud rules count that Customer's payments.
CREATE TABLE customers (
    id          text COLLATE "C" PRIMARY KEY,
    tenant_id   text COLLATE "C" NOT NULL REFERENCES tenants(id),
    email       text COLLATE "C",
    name        text COLLATE "C",
    description text COLLATE "C",
    metadata    json NOT NULL DEFAULT '{}',
    created_at  timestamptz NOT NULL,
    updated_at  timestamptz NOT NULL,
    deleted_at  timestamptz
);
CREATE INDEX customers_page ON customers (tenant_id, created_at DESC, id DESC);
