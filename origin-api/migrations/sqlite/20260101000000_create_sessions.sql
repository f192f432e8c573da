-- Session records. Times are seconds since the epoch. The session token itself is
-- never stored: token_hash is the lowercase hex SHA-256 of the JWT's `sid` claim.
CREATE TABLE sessions (
    id               TEXT    PRIMARY KEY NOT NULL,
    user_id          TEXT    NOT NULL,
    token_hash       TEXT    NOT NULL UNIQUE,
    ip               TEXT,
    user_agent       TEXT,
    created_at       BIGINT  NOT NULL,
    last_seen_at     BIGINT  NOT NULL,
    expires_at       BIGINT  NOT NULL,
    -- The JWT's `exp`. The sweeper keeps a row until both times have passed, so a
    -- token that still verifies can never re-create a revoked or expired session.
    token_expires_at BIGINT  NOT NULL,
    revoked_at       BIGINT
);

CREATE INDEX sessions_user_id ON sessions (user_id);
CREATE INDEX sessions_expires_at ON sessions (expires_at);
