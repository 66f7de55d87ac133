-- Safe retries: the answer of each create named by an Idempotency-Key.
-- A row is claimed and answered inside the transaction of the create it
-- guards, so it is committed exactly when the create is: never a post
-- without its key, never a key without its post. Keys belong to their
-- user; rows older than 24 hours count as absent and are purged
-- periodically. `status` and `body` are null only while the claiming
-- transaction is still open (no other transaction ever sees that).
CREATE TABLE idempotency_keys (
    user_id text NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    key text NOT NULL,
    fingerprint text NOT NULL,
    status smallint,
    body text,
    created_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (user_id, key)
);

CREATE INDEX idempotency_keys_created_at ON idempotency_keys (created_at);
