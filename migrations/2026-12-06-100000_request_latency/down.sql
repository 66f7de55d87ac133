DROP TABLE request_latency_counts;
