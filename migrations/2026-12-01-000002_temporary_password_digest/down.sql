DELETE FROM temporary_passwords;
ALTER TABLE temporary_passwords DROP COLUMN password_digest;
ALTER TABLE temporary_passwords ADD COLUMN password_hash text NOT NULL;
