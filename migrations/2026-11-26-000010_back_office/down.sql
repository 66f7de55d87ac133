DROP TABLE request_counts;
DROP TRIGGER posts_count ON posts;
DROP FUNCTION posts_count();
DROP TRIGGER users_count ON users;
DROP FUNCTION users_count();
DROP FUNCTION service_count(text, bigint);
DROP FUNCTION minifb_quarter(timestamptz);
DROP TABLE post_counts_by_quarter;
DROP TABLE service_counters;
