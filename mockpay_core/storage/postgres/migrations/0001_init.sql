-- MockPay Lab schema, version 1 (PostgreSQL): the SQLite schema (migrations 0001-0004 of
-- mockpay_core/storage/sqlite) in native types. Amounts are integer minor units; times are
-- timestamptz; JSON is ``json`` (kept as written, so payloads keep their key order). Text
-- sorts bytewise (COLLATE "C"), as in SQLite, whatever the database's locale.

CREATE TABLE meta (
    key   text COLLATE "C" PRIMARY KEY,
    value text COLLATE "C" NOT NULL
);

CREATE TABLE tenants (
    id                      text COLLATE "C" PRIMARY KEY,
    name                    text COLLATE "C" NOT NULL,
    email                   text COLLATE "C" NOT NULL,
    email_norm              text COLLATE "C" NOT NULL UNIQUE,
    api_key_hash            text COLLATE "C" NOT NULL UNIQUE,   -- sha256 hex; the key itself is never stored
    webhook_secret          text COLLATE "C" NOT NULL,
    rate_limit_tier         text COLLATE "C" NOT NULL,
    created_at              timestamptz NOT NULL,
    previous_webhook_secret text COLLATE "C",
    secret_rotated_at       timestamptz
);

CREATE TABLE payments (
    id              text COLLATE "C" PRIMARY KEY,
    tenant_id       text COLLATE "C" NOT NULL REFERENCES tenants(id),
    amount_minor    bigint NOT NULL CHECK (amount_minor > 0),
    currency        text COLLATE "C" NOT NULL,
    status          text COLLATE "C" NOT NULL,
    capture_method  text COLLATE "C" NOT NULL,
    webhook_url     text COLLATE "C" NOT NULL,
    idempotency_key text COLLATE "C",
    created_at      timestamptz NOT NULL,
    updated_at      timestamptz NOT NULL,
    captured_minor  bigint NOT NULL DEFAULT 0 CHECK (captured_minor <= amount_minor),
    refunded_minor  bigint NOT NULL DEFAULT 0,
    disputed_minor  bigint NOT NULL DEFAULT 0,
    customer        text COLLATE "C",
    description     text COLLATE "C",
    metadata        json NOT NULL DEFAULT '{}',
    failure_code    text COLLATE "C",
    expires_at      timestamptz,
    refunded_at     timestamptz,
    refund_reason   text COLLATE "C",
    -- the last line of defence against over-refunding, below the engine's own check
    CHECK (refunded_minor >= 0 AND disputed_minor >= 0
           AND refunded_minor + disputed_minor <= captured_minor)
);
CREATE INDEX payments_page ON payments (tenant_id, created_at DESC, id DESC);
-- Fraud windows count every payment fraud let through (see mockpay_core.domain.fraud).
CREATE INDEX payments_window ON payments (tenant_id, created_at)
    WHERE status <> 'flagged' AND coalesce(failure_code, '') NOT IN ('fraud_blocked', 'fraud_rejected');
CREATE INDEX payments_customer_window ON payments (tenant_id, customer, created_at)
    WHERE status <> 'flagged' AND coalesce(failure_code, '') NOT IN ('fraud_blocked', 'fraud_rejected')
    AND customer IS NOT NULL;
CREATE INDEX payments_expiry ON payments (expires_at) WHERE expires_at IS NOT NULL;
CREATE INDEX payments_pending ON payments (created_at) WHERE status = 'pending';

CREATE TABLE refunds (
    id           text COLLATE "C" PRIMARY KEY,
    payment_id   text COLLATE "C" NOT NULL REFERENCES payments(id),
    tenant_id    text COLLATE "C" NOT NULL,
    amount_minor bigint NOT NULL CHECK (amount_minor > 0),
    currency     text COLLATE "C" NOT NULL,
    reason       text COLLATE "C",
    created_at   timestamptz NOT NULL
);
CREATE INDEX refunds_payment ON refunds (payment_id, created_at);

CREATE TABLE disputes (
    id           text COLLATE "C" PRIMARY KEY,
    payment_id   text COLLATE "C" NOT NULL REFERENCES payments(id),
    tenant_id    text COLLATE "C" NOT NULL,
    amount_minor bigint NOT NULL CHECK (amount_minor > 0),
    currency     text COLLATE "C" NOT NULL,
    reason       text COLLATE "C",
    status       text COLLATE "C" NOT NULL,
    created_at   timestamptz NOT NULL,
    resolved_at  timestamptz
);
CREATE INDEX disputes_payment ON disputes (payment_id, created_at);

CREATE TABLE audit_log (
    id           text COLLATE "C" PRIMARY KEY,
    tenant_id    text COLLATE "C" NOT NULL,
    payment_id   text COLLATE "C" NOT NULL,
    seq          bigint NOT NULL,
    old_status   text COLLATE "C",
    new_status   text COLLATE "C" NOT NULL,
    action       text COLLATE "C" NOT NULL,
    triggered_by text COLLATE "C" NOT NULL,
    metadata     json NOT NULL,
    created_at   timestamptz NOT NULL,
    prev_hash    text COLLATE "C" NOT NULL,
    hash         text COLLATE "C" NOT NULL,
    UNIQUE (tenant_id, seq)
);
CREATE INDEX audit_payment ON audit_log (payment_id, seq);

-- Append-only: UPDATE, DELETE and TRUNCATE are refused (SQLSTATE MP001, see store.py).
CREATE FUNCTION audit_log_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'audit_log is append-only' USING ERRCODE = 'MP001';
END
$$;
CREATE TRIGGER audit_log_no_update BEFORE UPDATE OR DELETE ON audit_log
    FOR EACH ROW EXECUTE FUNCTION audit_log_append_only();
CREATE TRIGGER audit_log_no_truncate BEFORE TRUNCATE ON audit_log
    FOR EACH STATEMENT EXECUTE FUNCTION audit_log_append_only();

-- The transactional outbox: one row per notified change, written with the change.
CREATE TABLE events (
    id         text COLLATE "C" PRIMARY KEY,
    tenant_id  text COLLATE "C" NOT NULL,
    payment_id text COLLATE "C" NOT NULL,
    type       text COLLATE "C" NOT NULL,
    payload    json NOT NULL,
    created_at timestamptz NOT NULL
);
CREATE INDEX events_tenant ON events (tenant_id, created_at, id);
CREATE INDEX events_payment ON events (payment_id, created_at);

CREATE TABLE idempotency_keys (
    tenant_id   text COLLATE "C" NOT NULL,
    key         text COLLATE "C" NOT NULL,
    operation   text COLLATE "C" NOT NULL,
    fingerprint text COLLATE "C" NOT NULL,
    succeeded   boolean NOT NULL,
    response    json NOT NULL,
    created_at  timestamptz NOT NULL,
    expires_at  timestamptz NOT NULL,
    PRIMARY KEY (tenant_id, key)
);
CREATE INDEX idempotency_expiry ON idempotency_keys (expires_at);

CREATE TABLE fraud_rules (
    id          text COLLATE "C" PRIMARY KEY,
    tenant_id   text COLLATE "C",                 -- NULL: applies to every tenant
    name        text COLLATE "C" NOT NULL,
    rule_type   text COLLATE "C" NOT NULL,
    action      text COLLATE "C" NOT NULL,
    threshold   text COLLATE "C",                 -- a decimal, kept exact as text
    window_secs bigint,
    scope       text COLLATE "C" NOT NULL,
    "values"    json NOT NULL,        -- list (blocklist)
    is_active   boolean NOT NULL,
    created_at  timestamptz NOT NULL,
    updated_at  timestamptz NOT NULL
);

CREATE TABLE fraud_decisions (
    id         text COLLATE "C" PRIMARY KEY,
    payment_id text COLLATE "C" NOT NULL,
    tenant_id  text COLLATE "C" NOT NULL,
    outcome    text COLLATE "C" NOT NULL,
    evaluated  json NOT NULL,         -- every rule evaluated, observed value, fired
    created_at timestamptz NOT NULL
);
CREATE INDEX fraud_decisions_payment ON fraud_decisions (payment_id);

-- Webhook delivery: one delivery row per outbox event (written with the event), every
-- attempt recorded, endpoints that answered 410 Gone disabled.
CREATE TABLE deliveries (
    seq             bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,  -- outbox order
    event_id        text COLLATE "C" NOT NULL UNIQUE REFERENCES events(id),
    tenant_id       text COLLATE "C" NOT NULL,
    payment_id      text COLLATE "C" NOT NULL,
    status          text COLLATE "C" NOT NULL,                -- pending, delivering, delivered, dead
    attempts        integer NOT NULL DEFAULT 0,   -- attempts ever claimed (numbers them)
    round_start     integer NOT NULL DEFAULT 0,   -- attempts before the latest replay
    next_attempt_at timestamptz NOT NULL,
    lease_until     timestamptz,
    lease_owner     text COLLATE "C",
    last_error      text COLLATE "C",
    delivered_at    timestamptz,
    dead_at         timestamptz,
    dead_reason     text COLLATE "C",
    created_at      timestamptz NOT NULL
);
CREATE INDEX deliveries_due ON deliveries (next_attempt_at, seq) WHERE status = 'pending';
CREATE INDEX deliveries_leased ON deliveries (lease_until, seq) WHERE status = 'delivering';
CREATE INDEX deliveries_open ON deliveries (payment_id, seq)
    WHERE status IN ('pending', 'delivering');
CREATE INDEX deliveries_dead ON deliveries (dead_at, seq) WHERE status = 'dead';

CREATE TABLE delivery_attempts (
    id               text COLLATE "C" PRIMARY KEY,
    event_id         text COLLATE "C" NOT NULL,
    tenant_id        text COLLATE "C" NOT NULL,
    attempt          integer NOT NULL,
    url              text COLLATE "C" NOT NULL,
    scheduled_at     timestamptz NOT NULL,
    sent_at          timestamptz NOT NULL,
    duration_ms      double precision NOT NULL,
    status_code      integer,
    error            text COLLATE "C",                        -- timeout, connect_error, ... (no status code)
    response_excerpt text COLLATE "C",                        -- at most 1 KB of the response body
    succeeded        boolean NOT NULL,
    UNIQUE (event_id, attempt)                    -- one claim, one attempt number: never sent twice
);
CREATE INDEX delivery_attempts_tenant ON delivery_attempts (tenant_id, sent_at);

CREATE TABLE disabled_endpoints (
    tenant_id   text COLLATE "C" NOT NULL,
    url         text COLLATE "C" NOT NULL,
    reason      text COLLATE "C" NOT NULL,
    disabled_at timestamptz NOT NULL,
    PRIMARY KEY (tenant_id, url)
);
