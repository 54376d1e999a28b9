-- The double-entry ledger (mockpay_core/domain/ledger.py): entries chained per tenant like
-- the audit log, and append-only under the same triggers.
CREATE TABLE ledger_entries (
    id             TEXT PRIMARY KEY,
    tenant_id      TEXT NOT NULL REFERENCES tenants(id),
    seq            INTEGER NOT NULL,
    transaction_id TEXT NOT NULL,
    kind           TEXT NOT NULL,
    source_id      TEXT NOT NULL,
    payment_id     TEXT,
    account        TEXT NOT NULL,
    currency       TEXT NOT NULL,
    direction      TEXT NOT NULL CHECK (direction IN ('debit', 'credit')),
    amount_minor   INTEGER NOT NULL CHECK (amount_minor > 0),
    available_on   TEXT,
    created_at     TEXT NOT NULL,
    prev_hash      TEXT NOT NULL,
    hash           TEXT NOT NULL,
    UNIQUE (tenant_id, seq)
);
CREATE INDEX ledger_accounts ON ledger_entries (tenant_id, account, currency);
CREATE INDEX ledger_transactions ON ledger_entries (tenant_id, transaction_id);
CREATE INDEX ledger_unsettled ON ledger_entries (available_on)
    WHERE kind = 'capture' AND account = 'pending';
CREATE TRIGGER ledger_entries_no_update BEFORE UPDATE ON ledger_entries
BEGIN
    SELECT RAISE(ABORT, 'ledger_entries is append-only');
END;
CREATE TRIGGER ledger_entries_no_delete BEFORE DELETE ON ledger_entries
BEGIN
    SELECT RAISE(ABORT, 'ledger_entries is append-only');
END;

-- Fees charged and given back, one row per ledger transaction that moved one.
CREATE TABLE fees (
    id           TEXT PRIMARY KEY,
    tenant_id    TEXT NOT NULL REFERENCES tenants(id),
    payment_id   TEXT NOT NULL,
    kind         TEXT NOT NULL,
    currency     TEXT NOT NULL,
    amount_minor INTEGER NOT NULL,
    created_at   TEXT NOT NULL
);
CREATE INDEX fees_payment ON fees (tenant_id, payment_id);

-- A tenant's prices per currency, where the admin set others than the default.
CREATE TABLE fee_schedules (
    tenant_id          TEXT NOT NULL REFERENCES tenants(id),
    currency           TEXT NOT NULL,
    rate_bp            INTEGER NOT NULL,
    fixed_minor        INTEGER NOT NULL,
    dispute_fee_minor  INTEGER NOT NULL,
    refund_returns_fee INTEGER NOT NULL,
    updated_at         TEXT NOT NULL,
    PRIMARY KEY (tenant_id, currency)
);

CREATE TABLE payouts (
    id           TEXT PRIMARY KEY,
    tenant_id    TEXT NOT NULL REFERENCES tenants(id),
    currency     TEXT NOT NULL,
    amount_minor INTEGER NOT NULL CHECK (amount_minor > 0),
    status       TEXT NOT NULL,
    failure_code TEXT,
    method       TEXT NOT NULL,
    created_at   TEXT NOT NULL
);
CREATE INDEX payouts_page ON payouts (tenant_id, created_at DESC, id DESC);
