-- Fraud windows count every payment fraud let through, issuer declines included: only
-- flagged payments and those fraud failed are left out (see mockpay_core.domain.fraud).
DROP INDEX payments_window;
DROP INDEX payments_customer_window;
CREATE INDEX payments_window ON payments (tenant_id, created_at)
    WHERE status <> 'flagged' AND coalesce(failure_code, '') NOT IN ('fraud_blocked', 'fraud_rejected');
CREATE INDEX payments_customer_window ON payments (tenant_id, customer, created_at)
    WHERE status <> 'flagged' AND coalesce(failure_code, '') NOT IN ('fraud_blocked', 'fraud_rejected')
    AND customer IS NOT NULL;
-- Tenant-wide delivery listings walk deliveries by seq; this index cost every event a page.
DROP INDEX deliveries_tenant;
