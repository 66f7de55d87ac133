use crate::text::text_type;

text_type!(
    /// A post's `content`: 1 to 3000 characters, not blank, stored as sent.
    PostContent, field = "content", min = 1, max = 3000
);
text_type!(
    /// A comment's `content`: 1 to 1000 characters, not blank, stored as sent.
    CommentContent, field = "content", min = 1, max = 1000
);

#[cfg(test)]
mod tests {
    use super::*;
    use crate::text::assert_text_rules;

    #[test]
    fn post_content_boundaries() {
        assert_text_rules(PostContent::parse, (1, 3000), "글");
        assert!(PostContent::parse("x").is_ok());
    }

    #[test]
    fn comment_content_boundaries() {
        assert_text_rules(CommentContent::parse, (1, 1000), "댓");
        assert!(CommentContent::parse("x").is_ok());
        // U+3000 IDEOGRAPHIC SPACE is white space too.
        assert!(CommentContent::parse("\u{3000}").is_err());
    }

    #[test]
    fn content_is_kept_exactly_as_sent() {
        let sent = "  hello\r\n  wörld 👋🏽 ";
        assert_eq!(PostContent::parse(sent).unwrap().as_ref(), sent);
    }
}
