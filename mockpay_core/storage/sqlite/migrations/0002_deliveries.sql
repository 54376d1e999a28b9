-- Webhook delivery: one delivery row per outbox event (written with the event), every
-- attempt recorded, endpoints that answered 410 Gone disabled.

CREATE TABLE deliveries (
    seq             INTEGER PRIMARY KEY,          -- outbox order; per payment, lower seq goes first
    event_id        TEXT NOT NULL UNIQUE REFERENCES events(id),
    tenant_id       TEXT NOT NULL,
    payment_id      TEXT NOT NULL,
    status          TEXT NOT NULL,                -- pending, delivering, delivered, dead
    attempts        INTEGER NOT NULL DEFAULT 0,   -- attempts ever claimed (numbers them)
    round_start     INTEGER NOT NULL DEFAULT 0,   -- attempts before the latest replay
    next_attempt_at TEXT NOT NULL,
    lease_until     TEXT,
    lease_owner     TEXT,
    last_error      TEXT,
    delivered_at    TEXT,
    dead_at         TEXT,
    dead_reason     TEXT,
    created_at      TEXT NOT NULL
);
CREATE INDEX deliveries_due ON deliveries (next_attempt_at, seq) WHERE status = 'pending';
CREATE INDEX deliveries_leased ON deliveries (lease_until, seq) WHERE status = 'delivering';
CREATE INDEX deliveries_open ON deliveries (payment_id, seq)
    WHERE status IN ('pending', 'delivering');
CREATE INDEX deliveries_dead ON deliveries (dead_at, seq) WHERE status = 'dead';
CREATE INDEX deliveries_tenant ON deliveries (tenant_id, seq);

CREATE TABLE delivery_attempts (
    id               TEXT PRIMARY KEY,
    event_id         TEXT NOT NULL,
    tenant_id        TEXT NOT NULL,
    attempt          INTEGER NOT NULL,
    url              TEXT NOT NULL,
    scheduled_at     TEXT NOT NULL,
    sent_at          TEXT NOT NULL,
    duration_ms      REAL NOT NULL,
    status_code      INTEGER,
    error            TEXT,                        -- timeout, connect_error, ... (no status code)
    response_excerpt TEXT,                        -- at most 1 KB of the response body
    succeeded        INTEGER NOT NULL,
    UNIQUE (event_id, attempt)                    -- one claim, one attempt number: never sent twice
);
CREATE INDEX delivery_attempts_tenant ON delivery_attempts (tenant_id, sent_at);

CREATE TABLE disabled_endpoints (
    tenant_id   TEXT NOT NULL,
    url         TEXT NOT NULL,
    reason      TEXT NOT NULL,
    disabled_at TEXT NOT NULL,
    PRIMARY KEY (tenant_id, url)
) WITHOUT ROWID;
