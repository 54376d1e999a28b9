-- What a Stripe PaymentIntent shows that /api has no field for (docs/stripe-phase2.md):
-- the test payment method it is confirmed with and the reason it was canceled.
ALTER TABLE payments ADD COLUMN payment_method text COLLATE "C";
ALTER TABLE payments ADD COLUMN cancellation_reason text COLLATE "C";
