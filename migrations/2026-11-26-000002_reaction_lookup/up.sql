-- The viewer's reaction on each item of a page (`my_reaction`) is one probe
-- per item on (item, viewer). With only the single-column (post_id) and
-- (comment_id) indexes the planner may answer that probe by reading every
-- reaction of the item and filtering on user_id, which is fine on average
-- and ruinous on a post with 100k reactions; with (item, user) both of its
-- choices (this index or the (user, item) primary key) are exact. The new
-- indexes serve whatever the old ones did (the cascades from posts and
-- comments, reactions of one item), so those go.
CREATE INDEX post_reactions_post_id_user_id_idx ON post_reactions (post_id, user_id);
DROP INDEX post_reactions_post_id_idx;

CREATE INDEX comment_reactions_comment_id_user_id_idx ON comment_reactions (comment_id, user_id);
DROP INDEX comment_reactions_comment_id_idx;
