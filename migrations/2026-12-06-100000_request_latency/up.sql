-- Request latency per minute and endpoint, as histogram buckets: how many
-- requests of that minute took at most `le` seconds and more than the
-- bucket below (not cumulative; `le` is 'Infinity' for the slowest). The
-- bounds are the HTTP adapter's latency buckets, the ones /metrics
-- exports. Every process adds its counts in its periodic flush, with the
-- request counts (never a write per request); the back office sums them
-- over the last hour and interpolates p50 and p99 within a bucket, as
-- Prometheus's histogram_quantile does.
CREATE TABLE request_latency_counts (
    minute   timestamptz      NOT NULL,
    endpoint text             NOT NULL,
    le       double precision NOT NULL CHECK (le > 0),
    requests bigint           NOT NULL CHECK (requests >= 0),
    PRIMARY KEY (minute, endpoint, le)
);
