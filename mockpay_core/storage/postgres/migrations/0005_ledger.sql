-- The double-entry ledger (mockpay_core/domain/ledger.py): entries chained per tenant like
-- the audit log, and append-only under the same triggers (SQLSTATE MP001).
CREATE TABLE ledger_entries (
    id             text COLLATE "C" PRIMARY KEY,
    tenant_id      text COLLATE "C" NOT NULL REFERENCES tenants(id),
    seq            bigint NOT NULL,
    transaction_id text COLLATE "C" NOT NULL,
    kind           text COLLATE "C" NOT NULL,
    source_id      text COLLATE "C" NOT NULL,
    payment_id     text COLLATE "C",
    account        text COLLATE "C" NOT NULL,
    currency       text COLLATE "C" NOT NULL,
    direction      text COLLATE "C" NOT NULL CHECK (direction IN ('debit', 'credit')),
    amount_minor   bigint NOT NULL CHECK (amount_minor > 0),
    available_on   timestamptz,
    created_at     timestamptz NOT NULL,
    prev_hash      text COLLATE "C" NOT NULL,
    hash           text COLLATE "C" NOT NULL,
    UNIQUE (tenant_id, seq)
);
CREATE INDEX ledger_accounts ON ledger_entries (tenant_id, account, currency);
CREATE INDEX ledger_transactions ON ledger_entries (tenant_id, transaction_id);
CREATE INDEX ledger_unsettled ON ledger_entries (available_on)
    WHERE kind = 'capture' AND account = 'pending';

CREATE FUNCTION ledger_entries_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'ledger_entries is append-only' USING ERRCODE = 'MP001';
END
$$;
CREATE TRIGGER ledger_entries_no_update BEFORE UPDATE OR DELETE ON ledger_entries
    FOR EACH ROW EXECUTE FUNCTION ledger_entries_append_only();
CREATE TRIGGER ledger_entries_no_truncate BEFORE TRUNCATE ON ledger_entries
    FOR EACH STATEMENT EXECUTE FUNCTION ledger_entries_append_only();

-- Fees charged and given back, one row per ledger transaction that moved one.
CREATE TABLE fees (
    id           text COLLATE "C" PRIMARY KEY,
    tenant_id    text COLLATE "C" NOT NULL REFERENCES tenants(id),
    payment_id   text COLLATE "C" NOT NULL,
    kind         text COLLATE "C" NOT NULL,
    currency     text COLLATE "C" NOT NULL,
    amount_minor bigint NOT NULL,
    created_at   timestamptz NOT NULL
);
CREATE INDEX fees_payment ON fees (tenant_id, payment_id);

-- A tenant's prices per currency, where the admin set others than the default.
CREATE TABLE fee_schedules (
    tenant_id          text COLLATE "C" NOT NULL REFERENCES tenants(id),
    currency           text COLLATE "C" NOT NULL,
    rate_bp            bigint NOT NULL,
    fixed_minor        bigint NOT NULL,
    dispute_fee_minor  bigint NOT NULL,
    refund_returns_fee boolean NOT NULL,
    updated_at         timestamptz NOT NULL,
    PRIMARY KEY (tenant_id, currency)
);

CREATE TABLE payouts (
    id           text COLLATE "C" PRIMARY KEY,
    tenant_id    text COLLATE "C" NOT NULL REFERENCES tenants(id),
    currency     text COLLATE "C" NOT NULL,
    amount_minor bigint NOT NULL CHECK (amount_minor > 0),
    status       text COLLATE "C" NOT NULL,
    failure_code text COLLATE "C",
    method       text COLLATE "C" NOT NULL,
    created_at   timestamptz NOT NULL
);
CREATE INDEX payouts_page ON payouts (tenant_id, created_at DESC, id DESC);
