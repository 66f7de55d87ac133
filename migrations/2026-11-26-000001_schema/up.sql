-- The whole schema of API.md. The CHECKs repeat the domain's rules so that
-- data stays valid even if a bug (or another implementation sharing the
-- database) slips past them; lengths are in characters, as in the domain.

CREATE TABLE users (
    id            text        PRIMARY KEY
                  CHECK (char_length(id) BETWEEN 4 AND 50 AND id ~ '^[A-Za-z0-9_.-]+$'),
    password_hash text        NOT NULL,
    name          text        NOT NULL CHECK (char_length(name) BETWEEN 2 AND 16),
    nickname      text        CHECK (char_length(nickname) BETWEEN 1 AND 30),
    bio           text        CHECK (char_length(bio) BETWEEN 1 AND 85),
    email         text        CHECK (char_length(email) BETWEEN 3 AND 254),
    created_at    timestamptz NOT NULL DEFAULT now()
);
-- Ids are unique regardless of letter case; every look-up goes through it.
CREATE UNIQUE INDEX users_lower_id_key ON users (lower(id));

-- A login family: the chain of refresh tokens that one login starts.
-- Revoking the family (logout, reuse detected) ends every token in it.
CREATE TABLE refresh_token_families (
    id                       bigint      GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    user_id                  text        NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    password_change_required boolean     NOT NULL DEFAULT false,
    revoked_at               timestamptz,
    created_at               timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX refresh_token_families_user_id_idx ON refresh_token_families (user_id)
    WHERE revoked_at IS NULL;

-- Only SHA-256 digests of refresh tokens are stored.
CREATE TABLE refresh_tokens (
    token_hash bytea       PRIMARY KEY CHECK (octet_length(token_hash) = 32),
    family_id  bigint      NOT NULL REFERENCES refresh_token_families (id) ON DELETE CASCADE,
    expires_at timestamptz NOT NULL,
    used_at    timestamptz,
    created_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX refresh_tokens_family_id_idx ON refresh_tokens (family_id);

-- At most one temporary password per user; a newer request replaces it.
CREATE TABLE temporary_passwords (
    user_id       text        PRIMARY KEY REFERENCES users (id) ON DELETE CASCADE,
    password_hash text        NOT NULL,
    expires_at    timestamptz NOT NULL,
    logged_in_at  timestamptz,
    created_at    timestamptz NOT NULL DEFAULT now()
);

-- reaction_counts[k] counts reactions of type k (1..5); comment_count and
-- reaction_counts are kept by the triggers below, in the same transaction
-- as the write that changes them.
CREATE TABLE posts (
    id              bigint      GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    owner_id        text        NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    content         text        NOT NULL CHECK (char_length(content) BETWEEN 1 AND 3000),
    created_at      timestamptz NOT NULL DEFAULT now(),
    updated_at      timestamptz,
    comment_count   bigint      NOT NULL DEFAULT 0 CHECK (comment_count >= 0),
    reaction_counts bigint[]    NOT NULL DEFAULT '{0,0,0,0,0}'
                    CHECK (cardinality(reaction_counts) = 5)
);
-- Timelines: WHERE owner_id = $1 AND id < $cursor ORDER BY id DESC.
CREATE INDEX posts_owner_id_id_idx ON posts (owner_id, id DESC);
-- Back-office "posts today": a range scan over one day.
CREATE INDEX posts_created_at_idx ON posts (created_at);

CREATE TABLE post_reactions (
    user_id    text        NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    post_id    bigint      NOT NULL REFERENCES posts (id) ON DELETE CASCADE,
    type       smallint    NOT NULL CHECK (type BETWEEN 1 AND 5),
    modified   boolean     NOT NULL DEFAULT false,
    created_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (user_id, post_id)
);
CREATE INDEX post_reactions_post_id_idx ON post_reactions (post_id);

CREATE TABLE comments (
    id              bigint      GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    user_id         text        NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    post_id         bigint      NOT NULL REFERENCES posts (id) ON DELETE CASCADE,
    content         text        NOT NULL CHECK (char_length(content) BETWEEN 1 AND 1000),
    modified        boolean     NOT NULL DEFAULT false,
    created_at      timestamptz NOT NULL DEFAULT now(),
    updated_at      timestamptz,
    reaction_counts bigint[]    NOT NULL DEFAULT '{0,0,0,0,0}'
                    CHECK (cardinality(reaction_counts) = 5)
);
-- A post's comments, oldest first: WHERE post_id = $1 AND id > $cursor ORDER BY id.
CREATE INDEX comments_post_id_id_idx ON comments (post_id, id);

CREATE TABLE comment_reactions (
    user_id    text        NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    comment_id bigint      NOT NULL REFERENCES comments (id) ON DELETE CASCADE,
    type       smallint    NOT NULL CHECK (type BETWEEN 1 AND 5),
    modified   boolean     NOT NULL DEFAULT false,
    created_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (user_id, comment_id)
);
CREATE INDEX comment_reactions_comment_id_idx ON comment_reactions (comment_id);

-- comment_id is the comment that caused a type 1 notification. It is not a
-- foreign key: deleting a comment withdraws its notification only while it
-- is unread, and a read one keeps pointing at what was said.
CREATE TABLE notifications (
    id         bigint      GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    user_id    text        NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    type       smallint    NOT NULL CHECK (type IN (1, 2)),
    actor_id   text        NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    post_id    bigint      NOT NULL REFERENCES posts (id) ON DELETE CASCADE,
    comment_id bigint,
    read       boolean     NOT NULL DEFAULT false,
    created_at timestamptz NOT NULL DEFAULT now(),
    CHECK ((type = 1) = (comment_id IS NOT NULL))
);
-- My notifications, newest first; and the unread ones (also unread_count).
CREATE INDEX notifications_user_id_id_idx ON notifications (user_id, id DESC);
CREATE INDEX notifications_unread_idx ON notifications (user_id, id DESC) WHERE NOT read;
-- Cascades from posts, and withdrawing what a comment or reaction caused.
CREATE INDEX notifications_post_id_idx ON notifications (post_id, actor_id);
CREATE INDEX notifications_comment_id_idx ON notifications (comment_id) WHERE comment_id IS NOT NULL;
CREATE INDEX notifications_actor_id_idx ON notifications (actor_id);

-- Counters. Triggers keep them right whichever implementation writes, and in
-- the writing transaction, so counts in responses are exact. They skip rows
-- removed by a cascade (pg_trigger_depth() > 0): the parent is going too, so
-- deleting a post with a million reactions does not update it a million times.
CREATE FUNCTION posts_count_comments() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'INSERT' THEN
        UPDATE posts SET comment_count = comment_count + 1 WHERE id = NEW.post_id;
    ELSE
        UPDATE posts SET comment_count = comment_count - 1 WHERE id = OLD.post_id;
    END IF;
    RETURN NULL;
END $$;
CREATE TRIGGER comments_count AFTER INSERT OR DELETE ON comments
    FOR EACH ROW WHEN (pg_trigger_depth() < 1) EXECUTE FUNCTION posts_count_comments();

CREATE FUNCTION posts_count_reactions() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP IN ('UPDATE', 'DELETE') THEN
        UPDATE posts SET reaction_counts[OLD.type] = reaction_counts[OLD.type] - 1
         WHERE id = OLD.post_id;
    END IF;
    IF TG_OP IN ('UPDATE', 'INSERT') THEN
        UPDATE posts SET reaction_counts[NEW.type] = reaction_counts[NEW.type] + 1
         WHERE id = NEW.post_id;
    END IF;
    RETURN NULL;
END $$;
CREATE TRIGGER post_reactions_count AFTER INSERT OR DELETE OR UPDATE OF type ON post_reactions
    FOR EACH ROW WHEN (pg_trigger_depth() < 1) EXECUTE FUNCTION posts_count_reactions();

CREATE FUNCTION comments_count_reactions() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP IN ('UPDATE', 'DELETE') THEN
        UPDATE comments SET reaction_counts[OLD.type] = reaction_counts[OLD.type] - 1
         WHERE id = OLD.comment_id;
    END IF;
    IF TG_OP IN ('UPDATE', 'INSERT') THEN
        UPDATE comments SET reaction_counts[NEW.type] = reaction_counts[NEW.type] + 1
         WHERE id = NEW.comment_id;
    END IF;
    RETURN NULL;
END $$;
CREATE TRIGGER comment_reactions_count AFTER INSERT OR DELETE OR UPDATE OF type ON comment_reactions
    FOR EACH ROW WHEN (pg_trigger_depth() < 1) EXECUTE FUNCTION comments_count_reactions();
