-- created_at has one-second resolution, so sign-ins within the same second need a
-- tiebreak to list newest first. Each insert takes the next number after the largest;
-- rows inserted concurrently on PostgreSQL may share one, and then fall back to id.
ALTER TABLE sessions ADD COLUMN created_seq BIGINT NOT NULL DEFAULT 0;

CREATE INDEX sessions_created_seq ON sessions (created_seq);
