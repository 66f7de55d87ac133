//! A post's comments, oldest first, in pages. Who is notified of a comment
//! is stated in `notifications`, who may change one in `permissions`, what
//! a missing post answers in `missing`.

use mockall::predicate::eq;

use super::{POST, comments, ids, page, viewer};
use crate::social::ports::PageRequest;
use crate::testing::{SocialPorts, table};

// The repository returns up to `limit + 1` comments: the extra one is not
// shown, it only says that another page follows, after the last one shown.
table! { a_page_of_comments {
    comments_come_oldest_first_in_pages_continuing_after_the_last_item:
        (page(2, Some(1)), &[2, 3, 4], &[2, 3], Some(3));
    the_last_page_of_comments_has_no_continuation: (page(2, None), &[2, 3], &[2, 3], None);
}}

/// Bob1 reads a page of post 7's comments; the request and the viewer reach
/// the repository unchanged.
async fn a_page_of_comments(
    label: &str,
    (request, rows, shown, next_after): (PageRequest, &'static [i64], &[i64], Option<i64>),
) {
    let mut ports = SocialPorts::default();
    let list = ports.comments.expect_list().times(1);
    let list = list.with(eq(POST), eq(request), eq(viewer("Bob1")));
    list.returning(move |_, _, _| Ok(Some(comments(rows))));

    let service = ports.into_service();
    let result = service
        .comments(POST, request, viewer("Bob1"))
        .await
        .unwrap();

    assert_eq!(ids(&result, |comment| comment.id.get()), shown, "{label}");
    assert_eq!(result.next_after, next_after, "{label}");
}
