-- Temporary passwords are made by the server with about 95 random bits, so
-- what is stored of them is a SHA-256 digest, like refresh tokens: checking
-- one costs microseconds instead of a PBKDF2 run, and a wrong login costs the
-- same whether or not the account has a live temporary password. Live ones
-- (at most 30 minutes old) are dropped: their owners ask again.
DELETE FROM temporary_passwords;
ALTER TABLE temporary_passwords DROP COLUMN password_hash;
ALTER TABLE temporary_passwords ADD COLUMN password_digest bytea NOT NULL;
