//! Lists of posts, newest first: everyone's, and one user's (a timeline),
//! cut into pages.

use mockall::predicate::eq;

use super::{id, ids, page, posts, viewer};
use crate::social::SocialError;
use crate::social::ports::PageRequest;
use crate::testing::{SocialPorts, assert_matches, table};

#[tokio::test]
async fn a_page_of_all_posts_passes_the_request_and_viewer_through_unchanged() {
    let mut ports = SocialPorts::default();
    let request = page(20, Some(42));
    ports
        .posts
        .expect_list()
        .with(eq(request), eq(viewer("Bob1")))
        .times(1)
        .returning(|_, _| Ok(posts(&[41])));

    let result = ports
        .into_service()
        .all_posts(request, viewer("Bob1"))
        .await;

    assert_eq!(ids(&result.unwrap(), |post| post.id.get()), [41]);
}

// A repository returns up to `limit + 1` rows: the extra row is not shown,
// it only says that another page follows, after the last item shown.
table! { cut_into_pages {
    one_row_more_than_the_limit_makes_a_full_page_continuing_after_its_last_item:
        (page(3, None), &[10, 9, 8, 7], &[10, 9, 8], Some(8));
    exactly_limit_rows_make_the_last_page: (page(3, None), &[10, 9, 8], &[10, 9, 8], None);
    fewer_rows_than_the_limit_make_the_last_page: (page(3, Some(3)), &[2], &[2], None);
    an_empty_list_is_an_empty_last_page: (page(20, None), &[], &[], None);
}}

async fn cut_into_pages(
    label: &str,
    (request, rows, shown, next_after): (PageRequest, &[i64], &[i64], Option<i64>),
) {
    let mut ports = SocialPorts::default();
    let rows = posts(rows);
    ports
        .posts
        .expect_list()
        .times(1)
        .returning(move |_, _| Ok(rows.clone()));

    let result = ports.into_service().all_posts(request, None).await.unwrap();

    assert_eq!(ids(&result, |post| post.id.get()), shown, "{label}");
    assert_eq!(result.next_after, next_after, "{label}");
}

#[tokio::test]
async fn a_timeline_lists_the_users_posts_in_pages() {
    let mut ports = SocialPorts::default();
    let request = page(2, None);
    ports
        .posts
        .expect_list_by_owner()
        .with(eq(id("alice")), eq(request), eq(viewer("Bob1")))
        .times(1)
        .returning(|_, _, _| Ok(Some(posts(&[9, 5, 2]))));

    let service = ports.into_service();
    let result = service
        .timeline(&id("alice"), request, viewer("Bob1"))
        .await;

    let result = result.unwrap();
    assert_eq!(ids(&result, |post| post.id.get()), [9, 5]);
    assert_eq!(result.next_after, Some(5));
}

#[tokio::test]
async fn the_timeline_of_an_unknown_user_answers_user_not_found_and_lists_nothing() {
    let mut ports = SocialPorts::default();
    let list = ports.posts.expect_list_by_owner().times(1);
    list.returning(|_, _, _| Ok(None));

    let service = ports.into_service();
    let result = service.timeline(&id("nobody"), page(20, None), None).await;

    assert_matches!(result, Err(SocialError::UserNotFound(id)) if id.as_ref() == "nobody");
}
