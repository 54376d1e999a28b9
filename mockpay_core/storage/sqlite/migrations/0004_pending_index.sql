-- The auto-settlement sweep finds pending payments by age; few are pending at any time, so
-- this partial index stays small.
CREATE INDEX payments_pending ON payments (created_at) WHERE status = 'pending';
