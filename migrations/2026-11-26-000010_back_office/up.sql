-- Back-office statistics that stay cheap at millions of rows.

-- Exact totals kept by triggers in the writing transaction. Each counter is
-- spread over 16 shard rows (picked by the writing backend's pid), so that
-- concurrent sign-ups or posts do not queue on one hot row; a read sums 16
-- rows.
CREATE TABLE service_counters (
    name  text     NOT NULL,
    shard smallint NOT NULL CHECK (shard BETWEEN 0 AND 15),
    value bigint   NOT NULL DEFAULT 0,
    PRIMARY KEY (name, shard)
);

-- Posts per quarter hour (UTC), so "posts today" in any time zone (every
-- zone's offset is a multiple of 15 minutes) sums at most 96 buckets.
CREATE TABLE post_counts_by_quarter (
    quarter timestamptz NOT NULL,
    shard   smallint    NOT NULL CHECK (shard BETWEEN 0 AND 15),
    posts   bigint      NOT NULL DEFAULT 0,
    PRIMARY KEY (quarter, shard)
);

-- The start of the quarter hour holding `at`, whatever the session's zone.
CREATE FUNCTION minifb_quarter(at timestamptz) RETURNS timestamptz
    LANGUAGE sql IMMUTABLE AS $$
    SELECT to_timestamp(floor(extract(epoch FROM at) / 900) * 900)
$$;

CREATE FUNCTION service_count(counter text, delta bigint) RETURNS void
    LANGUAGE sql AS $$
    INSERT INTO service_counters (name, shard, value)
    VALUES (counter, pg_backend_pid() % 16, delta)
    ON CONFLICT (name, shard) DO UPDATE SET value = service_counters.value + EXCLUDED.value
$$;

CREATE FUNCTION users_count() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM service_count('users', CASE WHEN TG_OP = 'INSERT' THEN 1 ELSE -1 END);
    RETURN NULL;
END $$;
CREATE TRIGGER users_count AFTER INSERT OR DELETE ON users
    FOR EACH ROW EXECUTE FUNCTION users_count();

CREATE FUNCTION posts_count() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    delta bigint := CASE WHEN TG_OP = 'INSERT' THEN 1 ELSE -1 END;
    at timestamptz := CASE WHEN TG_OP = 'INSERT' THEN NEW.created_at ELSE OLD.created_at END;
BEGIN
    PERFORM service_count('posts', delta);
    INSERT INTO post_counts_by_quarter (quarter, shard, posts)
    VALUES (minifb_quarter(at), pg_backend_pid() % 16, delta)
    ON CONFLICT (quarter, shard) DO UPDATE SET posts = post_counts_by_quarter.posts + EXCLUDED.posts;
    RETURN NULL;
END $$;
CREATE TRIGGER posts_count AFTER INSERT OR DELETE ON posts
    FOR EACH ROW EXECUTE FUNCTION posts_count();

-- Rows that existed before this migration.
INSERT INTO service_counters (name, shard, value)
SELECT 'users', 0, count(*) FROM users;
INSERT INTO service_counters (name, shard, value)
SELECT 'posts', 0, count(*) FROM posts;
INSERT INTO post_counts_by_quarter (quarter, shard, posts)
SELECT minifb_quarter(created_at), 0, count(*) FROM posts GROUP BY 1;

-- Requests per minute, route template and status, summed over every server
-- process sharing the database: each process counts in memory and adds its
-- counts here every few seconds.
CREATE TABLE request_counts (
    minute   timestamptz NOT NULL,
    endpoint text        NOT NULL,
    status   smallint    NOT NULL,
    requests bigint      NOT NULL CHECK (requests >= 0),
    PRIMARY KEY (minute, endpoint, status)
);
