-- MockPay Lab schema, version 1 (SQLite). Amounts are integer minor units; times are
-- ISO 8601 UTC text, which sorts in time order.

CREATE TABLE meta (
    key   TEXT PRIMARY KEY,
    value TEXT NOT NULL
) WITHOUT ROWID;

CREATE TABLE tenants (
    id                      TEXT PRIMARY KEY,
    name                    TEXT NOT NULL,
    email                   TEXT NOT NULL,
    email_norm              TEXT NOT NULL UNIQUE,
    api_key_hash            TEXT NOT NULL UNIQUE,   -- sha256 hex; the key itself is never stored
    webhook_secret          TEXT NOT NULL,
    rate_limit_tier         TEXT NOT NULL,
    created_at              TEXT NOT NULL,
    previous_webhook_secret TEXT,
    secret_rotated_at       TEXT
);

CREATE TABLE payments (
    id              TEXT PRIMARY KEY,
    tenant_id       TEXT NOT NULL REFERENCES tenants(id),
    amount_minor    INTEGER NOT NULL CHECK (amount_minor > 0),
    currency        TEXT NOT NULL,
    status          TEXT NOT NULL,
    capture_method  TEXT NOT NULL,
    webhook_url     TEXT NOT NULL,
    idempotency_key TEXT,
    created_at      TEXT NOT NULL,
    updated_at      TEXT NOT NULL,
    captured_minor  INTEGER NOT NULL DEFAULT 0 CHECK (captured_minor <= amount_minor),
    refunded_minor  INTEGER NOT NULL DEFAULT 0,
    disputed_minor  INTEGER NOT NULL DEFAULT 0,
    customer        TEXT,
    description     TEXT,
    metadata        TEXT NOT NULL DEFAULT '{}',
    failure_code    TEXT,
    expires_at      TEXT,
    refunded_at     TEXT,
    refund_reason   TEXT,
    -- the last line of defence against over-refunding, below the engine's own check
    CHECK (refunded_minor >= 0 AND disputed_minor >= 0
           AND refunded_minor + disputed_minor <= captured_minor)
);
CREATE INDEX payments_page ON payments (tenant_id, created_at DESC, id DESC);
-- Fraud windows count what fraud let through (redefined in 0003_fraud_windows.sql).
CREATE INDEX payments_window ON payments (tenant_id, created_at)
    WHERE status NOT IN ('failed', 'flagged');
CREATE INDEX payments_customer_window ON payments (tenant_id, customer, created_at)
    WHERE status NOT IN ('failed', 'flagged') AND customer IS NOT NULL;
CREATE INDEX payments_expiry ON payments (expires_at) WHERE expires_at IS NOT NULL;

CREATE TABLE refunds (
    id           TEXT PRIMARY KEY,
    payment_id   TEXT NOT NULL REFERENCES payments(id),
    tenant_id    TEXT NOT NULL,
    amount_minor INTEGER NOT NULL CHECK (amount_minor > 0),
    currency     TEXT NOT NULL,
    reason       TEXT,
    created_at   TEXT NOT NULL
);
CREATE INDEX refunds_payment ON refunds (payment_id, created_at);

CREATE TABLE disputes (
    id           TEXT PRIMARY KEY,
    payment_id   TEXT NOT NULL REFERENCES payments(id),
    tenant_id    TEXT NOT NULL,
    amount_minor INTEGER NOT NULL CHECK (amount_minor > 0),
    currency     TEXT NOT NULL,
    reason       TEXT,
    status       TEXT NOT NULL,
    created_at   TEXT NOT NULL,
    resolved_at  TEXT
);
CREATE INDEX disputes_payment ON disputes (payment_id, created_at);

CREATE TABLE audit_log (
    id           TEXT PRIMARY KEY,
    tenant_id    TEXT NOT NULL,
    payment_id   TEXT NOT NULL,
    seq          INTEGER NOT NULL,
    old_status   TEXT,
    new_status   TEXT NOT NULL,
    action       TEXT NOT NULL,
    triggered_by TEXT NOT NULL,
    metadata     TEXT NOT NULL,
    created_at   TEXT NOT NULL,
    prev_hash    TEXT NOT NULL,
    hash         TEXT NOT NULL,
    UNIQUE (tenant_id, seq)
);
CREATE INDEX audit_payment ON audit_log (payment_id, seq);
CREATE TRIGGER audit_log_no_update BEFORE UPDATE ON audit_log
BEGIN
    SELECT RAISE(ABORT, 'audit_log is append-only');
END;
CREATE TRIGGER audit_log_no_delete BEFORE DELETE ON audit_log
BEGIN
    SELECT RAISE(ABORT, 'audit_log is append-only');
END;

-- The transactional outbox: one row per notified change, written with the change.
CREATE TABLE events (
    id         TEXT PRIMARY KEY,
    tenant_id  TEXT NOT NULL,
    payment_id TEXT NOT NULL,
    type       TEXT NOT NULL,
    payload    TEXT NOT NULL,
    created_at TEXT NOT NULL
);
CREATE INDEX events_tenant ON events (tenant_id, created_at, id);
CREATE INDEX events_payment ON events (payment_id, created_at);

CREATE TABLE idempotency_keys (
    tenant_id   TEXT NOT NULL,
    key         TEXT NOT NULL,
    operation   TEXT NOT NULL,
    fingerprint TEXT NOT NULL,
    succeeded   INTEGER NOT NULL,
    response    TEXT NOT NULL,
    created_at  TEXT NOT NULL,
    expires_at  TEXT NOT NULL,
    PRIMARY KEY (tenant_id, key)
) WITHOUT ROWID;
CREATE INDEX idempotency_expiry ON idempotency_keys (expires_at);

CREATE TABLE fraud_rules (
    id          TEXT PRIMARY KEY,
    tenant_id   TEXT,                 -- NULL: applies to every tenant
    name        TEXT NOT NULL,
    rule_type   TEXT NOT NULL,
    action      TEXT NOT NULL,
    threshold   TEXT,                 -- a decimal, kept exact as text
    window_secs INTEGER,
    scope       TEXT NOT NULL,
    "values"    TEXT NOT NULL,        -- JSON list (blocklist)
    is_active   INTEGER NOT NULL,
    created_at  TEXT NOT NULL,
    updated_at  TEXT NOT NULL
);

CREATE TABLE fraud_decisions (
    id         TEXT PRIMARY KEY,
    payment_id TEXT NOT NULL,
    tenant_id  TEXT NOT NULL,
    outcome    TEXT NOT NULL,
    evaluated  TEXT NOT NULL,         -- JSON: every rule evaluated, observed value, fired
    created_at TEXT NOT NULL
);
CREATE INDEX fraud_decisions_payment ON fraud_decisions (payment_id);
