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
    use crate::Rule;

    #[test]
    fn post_content_boundaries() {
        let length = Rule::Length { min: 1, max: 3000 };
        assert_eq!(PostContent::parse("").unwrap_err().rule(), &length);
        assert!(PostContent::parse("x").is_ok());
        assert!(PostContent::parse("글".repeat(3000)).is_ok());
        assert_eq!(
            PostContent::parse("글".repeat(3001)).unwrap_err().rule(),
            &length
        );
        assert_eq!(PostContent::parse(" \n ").unwrap_err().rule(), &Rule::Blank);
    }

    #[test]
    fn comment_content_boundaries() {
        let length = Rule::Length { min: 1, max: 1000 };
        assert_eq!(CommentContent::parse("").unwrap_err().rule(), &length);
        assert!(CommentContent::parse("x").is_ok());
        assert!(CommentContent::parse("댓".repeat(1000)).is_ok());
        assert_eq!(
            CommentContent::parse("댓".repeat(1001)).unwrap_err().rule(),
            &length
        );
        assert_eq!(
            CommentContent::parse("\u{3000}").unwrap_err().rule(),
            &Rule::Blank
        );
    }

    #[test]
    fn content_is_kept_exactly_as_sent() {
        let sent = "  hello\r\n  wörld 👋🏽 ";
        assert_eq!(PostContent::parse(sent).unwrap().as_ref(), sent);
    }
}
