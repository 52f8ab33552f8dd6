-- Notifications waiting for delivery (webhooks), queued in the same
-- transaction as the action they tell of, so a crash keeps both or
-- neither. A row is leased by pushing next_attempt_at past the delivery's
-- time-out before the attempt, so an instance that dies mid-delivery loses
-- nothing: the lease runs out and the row is tried again. Delivered rows
-- are deleted; dead ones (out of attempts) stay for an operator to see.
CREATE TABLE outbox (
  id TEXT PRIMARY KEY,
  kind TEXT NOT NULL,
  payload TEXT NOT NULL,
  created_at BIGINT NOT NULL,
  attempts INTEGER NOT NULL DEFAULT 0,
  next_attempt_at BIGINT NOT NULL,
  last_error TEXT NOT NULL DEFAULT '',
  dead INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX outbox_due ON outbox(dead, next_attempt_at);
