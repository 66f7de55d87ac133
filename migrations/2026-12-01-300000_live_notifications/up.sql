-- Live notifications (GET /me/notifications/stream).
--
-- 1. Every change to `notifications` that a stream shows is announced with
--    NOTIFY on the channel `minifb_notifications`, by statement-level
--    triggers, in the transaction of the write: nothing rolled back is
--    announced, nothing committed goes unannounced, whichever program
--    writes. PostgreSQL delivers a NOTIFY to the listeners only at commit.
--    A payload is small JSON naming the user and the ids:
--      {"u": "<user id>", "e": "n" | "w" | "r", "ids": [1, 2] | "all"}
--    (n = new, w = an unread one withdrawn, r = read). Ids go in chunks of
--    at most 300 per NOTIFY (19 digits + a comma each: well under the
--    8000-byte limit of a payload); the listener reads the details.
--    `"all"` is sent by a statement run with `minifb.read_all = 'on'`
--    (mark-all-read), which marks every unread notification of the user.
-- 2. `notification_streams` holds the open streams, so the limit of 5 per
--    user holds across every process: a row per stream in one of 5 slots
--    per user, taken under the primary key (two processes racing for the
--    last slot cannot both win), kept alive by its process renewing
--    `expires_at`, and free again when it expires (a process that dies
--    stops renewing). UNLOGGED: after a crash it starts empty, as it should.

CREATE FUNCTION minifb_announce_notifications(kind text, changed_user text, ids bigint[])
RETURNS void LANGUAGE plpgsql AS $$
DECLARE
    chunk bigint[];
    n integer := coalesce(array_length(ids, 1), 0);
    i integer := 1;
BEGIN
    WHILE i <= n LOOP
        chunk := ids[i : i + 299];
        PERFORM pg_notify('minifb_notifications',
            json_build_object('u', changed_user, 'e', kind, 'ids', to_json(chunk))::text);
        i := i + 300;
    END LOOP;
END $$;

CREATE FUNCTION notifications_announce_insert() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    changed record;
BEGIN
    FOR changed IN
        SELECT user_id, array_agg(id ORDER BY id) AS ids FROM new_rows GROUP BY user_id
    LOOP
        PERFORM minifb_announce_notifications('n', changed.user_id, changed.ids);
    END LOOP;
    RETURN NULL;
END $$;

CREATE FUNCTION notifications_announce_delete() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    changed record;
BEGIN
    FOR changed IN
        SELECT user_id, array_agg(id ORDER BY id) AS ids FROM old_rows
        WHERE NOT read GROUP BY user_id
    LOOP
        PERFORM minifb_announce_notifications('w', changed.user_id, changed.ids);
    END LOOP;
    RETURN NULL;
END $$;

CREATE FUNCTION notifications_announce_read() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    changed record;
    read_all boolean := coalesce(current_setting('minifb.read_all', true), '') = 'on';
BEGIN
    FOR changed IN
        SELECT n.user_id, array_agg(n.id ORDER BY n.id) AS ids
        FROM new_rows n JOIN old_rows o ON o.id = n.id
        WHERE n.read AND NOT o.read GROUP BY n.user_id
    LOOP
        IF read_all THEN
            PERFORM pg_notify('minifb_notifications',
                json_build_object('u', changed.user_id, 'e', 'r', 'ids', 'all')::text);
        ELSE
            PERFORM minifb_announce_notifications('r', changed.user_id, changed.ids);
        END IF;
    END LOOP;
    RETURN NULL;
END $$;

CREATE TRIGGER notifications_announce_insert AFTER INSERT ON notifications
    REFERENCING NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION notifications_announce_insert();
CREATE TRIGGER notifications_announce_delete AFTER DELETE ON notifications
    REFERENCING OLD TABLE AS old_rows
    FOR EACH STATEMENT EXECUTE FUNCTION notifications_announce_delete();
CREATE TRIGGER notifications_announce_read AFTER UPDATE ON notifications
    REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION notifications_announce_read();

CREATE UNLOGGED TABLE notification_streams (
    -- lower(users.id): the user whatever the letter case of their token.
    user_key text NOT NULL,
    slot smallint NOT NULL CHECK (slot BETWEEN 1 AND 5),
    process_id text NOT NULL,
    opened_at timestamptz NOT NULL DEFAULT now(),
    expires_at timestamptz NOT NULL,
    PRIMARY KEY (user_key, slot)
);
CREATE INDEX notification_streams_process_idx ON notification_streams (process_id);
