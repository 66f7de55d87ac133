CREATE INDEX comment_reactions_comment_id_idx ON comment_reactions (comment_id);
DROP INDEX comment_reactions_comment_id_user_id_idx;

CREATE INDEX post_reactions_post_id_idx ON post_reactions (post_id);
DROP INDEX post_reactions_post_id_user_id_idx;
