//! Use-case tests for the social service: every port is a mockall mock that
//! fails the test on any call a test did not arrange, so each test states
//! exactly which ports a use case may touch (and `.never()` says out loud
//! which change a refused request must not make).

use std::sync::Arc;

use chrono::Utc;
use minifb_domain::{
    CommentContent, CommentId, NotificationId, NotificationKind, PostContent, PostId, ReactionKind,
};
use mockall::predicate::eq;

use super::ports::{
    Author, CommentOwners, CommentView, MockCommentRepository, MockNotificationRepository,
    MockPostRepository, MockReactionRepository, NotificationView, PageRequest, PostFilter,
    PostView, ReactionChange, ReactionView,
};
use super::{Page, SocialError, SocialService};
use crate::StoreError;
use crate::ports::{MockUserRepository, UserRecord};

const POST: PostId = PostId::new(7);
const COMMENT: CommentId = CommentId::new(11);
const NOTIFICATION: NotificationId = NotificationId::new(3);

/// Every port of the service; mocks without expectations panic when called.
struct Ports {
    users: MockUserRepository,
    posts: MockPostRepository,
    comments: MockCommentRepository,
    reactions: MockReactionRepository,
    notifications: MockNotificationRepository,
}

impl Ports {
    fn new() -> Self {
        Self {
            users: MockUserRepository::new(),
            posts: MockPostRepository::new(),
            comments: MockCommentRepository::new(),
            reactions: MockReactionRepository::new(),
            notifications: MockNotificationRepository::new(),
        }
    }

    fn into_service(self) -> SocialService {
        SocialService {
            users: Arc::new(self.users),
            posts: Arc::new(self.posts),
            comments: Arc::new(self.comments),
            reactions: Arc::new(self.reactions),
            notifications: Arc::new(self.notifications),
        }
    }

    /// The post exists and belongs to `owner` (the id as stored).
    fn post_owned_by(&mut self, id: PostId, owner: &str) {
        let owner = owner.to_owned();
        self.posts
            .expect_owner_of()
            .with(eq(id))
            .returning(move |_| Ok(Some(owner.clone())));
    }

    fn no_post(&mut self, id: PostId) {
        self.posts
            .expect_owner_of()
            .with(eq(id))
            .returning(|_| Ok(None));
    }

    /// The comment exists, written by `author` on a post of `post_owner`.
    fn comment_by(&mut self, id: CommentId, author: &str, post_owner: &str) {
        let owners = CommentOwners {
            author_id: author.to_owned(),
            post_id: POST,
            post_owner_id: post_owner.to_owned(),
        };
        self.comments
            .expect_owners()
            .with(eq(id))
            .returning(move |_| Ok(Some(owners.clone())));
    }

    fn no_comment(&mut self, id: CommentId) {
        self.comments
            .expect_owners()
            .with(eq(id))
            .returning(|_| Ok(None));
    }

    /// The user repository holds `user` (and nobody else), found by id
    /// ignoring letter case as its contract says.
    fn knows(&mut self, user: UserRecord) {
        self.users.expect_find().returning(move |id| {
            Ok(Some(user.clone()).filter(|user| user.id.eq_ignore_ascii_case(id)))
        });
    }
}

fn author(id: &str) -> Author {
    Author {
        id: id.to_owned(),
        name: format!("{id} Kim"),
        nickname: None,
    }
}

fn post_view(id: i64, owner: &str) -> PostView {
    PostView {
        id: PostId::new(id),
        author: author(owner),
        content: format!("post {id}"),
        created_at: Utc::now(),
        updated_at: None,
        comment_count: 0,
        reaction_counts: [0; 5],
        my_reaction: None,
    }
}

fn comment_view(id: i64, post_id: PostId, author_id: &str) -> CommentView {
    CommentView {
        id: CommentId::new(id),
        post_id,
        author: author(author_id),
        content: format!("comment {id}"),
        modified: false,
        created_at: Utc::now(),
        updated_at: None,
        reaction_counts: [0; 5],
        my_reaction: None,
    }
}

fn notification_view(id: i64, actor: &str) -> NotificationView {
    NotificationView {
        id: NotificationId::new(id),
        kind: NotificationKind::Reacted,
        actor: author(actor),
        post_id: POST,
        comment_id: None,
        read: false,
        created_at: Utc::now(),
    }
}

fn user_record(id: &str) -> UserRecord {
    UserRecord {
        id: id.to_owned(),
        password_hash: "pbkdf2:sha256:1000$salt$hash".to_owned(),
        name: format!("{id} Kim"),
        nickname: None,
        bio: None,
        email: None,
        created_at: Utc::now(),
    }
}

fn reaction(kind: ReactionKind, modified: bool) -> ReactionView {
    ReactionView {
        kind,
        modified,
        created_at: Utc::now(),
    }
}

fn kind(value: i64) -> ReactionKind {
    ReactionKind::parse(value).unwrap()
}

fn post_content(text: &str) -> PostContent {
    PostContent::parse(text).unwrap()
}

fn comment_content(text: &str) -> CommentContent {
    CommentContent::parse(text).unwrap()
}

fn page(limit: u32, after: Option<i64>) -> PageRequest {
    PageRequest { limit, after }
}

fn viewer(id: &str) -> Option<String> {
    Some(id.to_owned())
}

fn unavailable() -> StoreError {
    StoreError::Unavailable("connection refused".into())
}

fn ids<T>(page: &Page<T>, id: impl Fn(&T) -> i64) -> Vec<i64> {
    page.items.iter().map(id).collect()
}

fn is_unavailable(error: &SocialError) -> bool {
    matches!(error, SocialError::Store(StoreError::Unavailable(reason)) if reason == "connection refused")
}

// create_post and post

#[tokio::test]
async fn creating_a_post_stores_it_for_the_caller_and_returns_it() {
    let mut ports = Ports::new();
    let created = post_view(7, "Alice");
    ports
        .posts
        .expect_create()
        .with(eq("Alice"), eq(post_content("hello")))
        .times(1)
        .returning({
            let created = created.clone();
            move |_, _| Ok(created.clone())
        });
    let service = ports.into_service();

    let result = service.create_post("Alice", post_content("hello")).await;

    assert_eq!(result.unwrap(), created);
}

#[tokio::test]
async fn reading_a_post_shows_it_as_the_viewer_sees_it() {
    let mut ports = Ports::new();
    let mut seen_by_bob = post_view(7, "Alice");
    seen_by_bob.my_reaction = Some(kind(2));
    ports
        .posts
        .expect_find()
        .with(eq(POST), eq(viewer("Bob")))
        .times(1)
        .returning({
            let seen_by_bob = seen_by_bob.clone();
            move |_, _| Ok(Some(seen_by_bob.clone()))
        });
    let service = ports.into_service();

    let result = service.post(POST, viewer("Bob")).await;

    assert_eq!(result.unwrap(), seen_by_bob);
}

#[tokio::test]
async fn reading_a_missing_post_answers_post_not_found() {
    let mut ports = Ports::new();
    ports
        .posts
        .expect_find()
        .with(eq(POST), eq(None))
        .times(1)
        .returning(|_, _| Ok(None));
    let service = ports.into_service();

    let result = service.post(POST, None).await;

    assert!(
        matches!(result, Err(SocialError::PostNotFound(id)) if id == POST),
        "{result:?}"
    );
}

// update_post

#[tokio::test]
async fn the_owner_updates_their_post_and_gets_it_back_as_they_see_it() {
    let mut ports = Ports::new();
    ports.post_owned_by(POST, "Alice");
    let mut updated = post_view(7, "Alice");
    updated.content = "edited".into();
    updated.updated_at = Some(Utc::now());
    ports
        .posts
        .expect_update()
        .with(eq(POST), eq(post_content("edited")), eq("Alice".to_owned()))
        .times(1)
        .returning({
            let updated = updated.clone();
            move |_, _, _| Ok(Some(updated.clone()))
        });
    let service = ports.into_service();

    let result = service
        .update_post("Alice", POST, post_content("edited"))
        .await;

    assert_eq!(result.unwrap(), updated);
}

#[tokio::test]
async fn the_owner_is_recognised_ignoring_letter_case_when_updating_a_post() {
    let mut ports = Ports::new();
    ports.post_owned_by(POST, "Alice");
    ports
        .posts
        .expect_update()
        .withf(|id, content, _| *id == POST && content.as_ref() == "edited")
        .times(1)
        .returning(|_, _, _| Ok(Some(post_view(7, "Alice"))));
    let service = ports.into_service();

    let result = service
        .update_post("aLICE", POST, post_content("edited"))
        .await;

    assert!(result.is_ok(), "{result:?}");
}

#[tokio::test]
async fn updating_someone_elses_post_is_forbidden_and_changes_nothing() {
    let mut ports = Ports::new();
    ports.post_owned_by(POST, "Alice");
    ports.posts.expect_update().never();
    let service = ports.into_service();

    let result = service
        .update_post("Bob1", POST, post_content("mine now"))
        .await;

    assert!(matches!(result, Err(SocialError::Forbidden)), "{result:?}");
}

#[tokio::test]
async fn updating_a_missing_post_answers_post_not_found_and_changes_nothing() {
    let mut ports = Ports::new();
    ports.no_post(POST);
    ports.posts.expect_update().never();
    let service = ports.into_service();

    let result = service
        .update_post("Alice", POST, post_content("edited"))
        .await;

    assert!(
        matches!(result, Err(SocialError::PostNotFound(id)) if id == POST),
        "{result:?}"
    );
}

#[tokio::test]
async fn a_post_deleted_between_the_owner_check_and_the_update_answers_post_not_found() {
    let mut ports = Ports::new();
    ports.post_owned_by(POST, "Alice");
    ports
        .posts
        .expect_update()
        .times(1)
        .returning(|_, _, _| Ok(None));
    let service = ports.into_service();

    let result = service
        .update_post("Alice", POST, post_content("edited"))
        .await;

    assert!(
        matches!(result, Err(SocialError::PostNotFound(id)) if id == POST),
        "{result:?}"
    );
}

// delete_post

#[tokio::test]
async fn the_owner_deletes_their_post() {
    let mut ports = Ports::new();
    ports.post_owned_by(POST, "Alice");
    ports
        .posts
        .expect_delete()
        .with(eq(POST))
        .times(1)
        .returning(|_| Ok(true));
    let service = ports.into_service();

    let result = service.delete_post("Alice", POST).await;

    assert!(result.is_ok(), "{result:?}");
}

#[tokio::test]
async fn the_owner_is_recognised_ignoring_letter_case_when_deleting_a_post() {
    let mut ports = Ports::new();
    ports.post_owned_by(POST, "Alice");
    ports
        .posts
        .expect_delete()
        .with(eq(POST))
        .times(1)
        .returning(|_| Ok(true));
    let service = ports.into_service();

    let result = service.delete_post("alice", POST).await;

    assert!(result.is_ok(), "{result:?}");
}

#[tokio::test]
async fn deleting_someone_elses_post_is_forbidden_and_deletes_nothing() {
    let mut ports = Ports::new();
    ports.post_owned_by(POST, "Alice");
    ports.posts.expect_delete().never();
    let service = ports.into_service();

    let result = service.delete_post("Bob1", POST).await;

    assert!(matches!(result, Err(SocialError::Forbidden)), "{result:?}");
}

#[tokio::test]
async fn deleting_a_missing_post_answers_post_not_found() {
    let mut ports = Ports::new();
    ports.no_post(POST);
    ports.posts.expect_delete().never();
    let service = ports.into_service();

    let result = service.delete_post("Alice", POST).await;

    assert!(
        matches!(result, Err(SocialError::PostNotFound(id)) if id == POST),
        "{result:?}"
    );
}

#[tokio::test]
async fn a_post_deleted_between_the_owner_check_and_the_delete_answers_post_not_found() {
    let mut ports = Ports::new();
    ports.post_owned_by(POST, "Alice");
    ports
        .posts
        .expect_delete()
        .with(eq(POST))
        .times(1)
        .returning(|_| Ok(false));
    let service = ports.into_service();

    let result = service.delete_post("Alice", POST).await;

    assert!(
        matches!(result, Err(SocialError::PostNotFound(id)) if id == POST),
        "{result:?}"
    );
}

// all_posts and timeline: pages

#[tokio::test]
async fn a_page_of_all_posts_passes_the_request_and_viewer_through_unchanged() {
    let mut ports = Ports::new();
    let request = page(20, Some(42));
    ports
        .posts
        .expect_list()
        .with(eq(PostFilter::Everyone), eq(request), eq(viewer("Bob1")))
        .times(1)
        .returning(|_, _, _| Ok(vec![post_view(41, "Alice")]));
    let service = ports.into_service();

    let result = service.all_posts(request, viewer("Bob1")).await;

    assert_eq!(ids(&result.unwrap(), |post| post.id.get()), [41]);
}

#[tokio::test]
async fn one_row_more_than_the_limit_makes_a_full_page_continuing_after_its_last_item() {
    let mut ports = Ports::new();
    ports.posts.expect_list().times(1).returning(|_, _, _| {
        Ok([10, 9, 8, 7]
            .into_iter()
            .map(|id| post_view(id, "Alice"))
            .collect())
    });
    let service = ports.into_service();

    let result = service.all_posts(page(3, None), None).await.unwrap();

    assert_eq!(ids(&result, |post| post.id.get()), [10, 9, 8]);
    assert_eq!(result.next_after, Some(8));
}

#[tokio::test]
async fn exactly_limit_rows_make_the_last_page() {
    let mut ports = Ports::new();
    ports.posts.expect_list().times(1).returning(|_, _, _| {
        Ok([10, 9, 8]
            .into_iter()
            .map(|id| post_view(id, "Alice"))
            .collect())
    });
    let service = ports.into_service();

    let result = service.all_posts(page(3, None), None).await.unwrap();

    assert_eq!(ids(&result, |post| post.id.get()), [10, 9, 8]);
    assert_eq!(result.next_after, None);
}

#[tokio::test]
async fn fewer_rows_than_the_limit_make_the_last_page() {
    let mut ports = Ports::new();
    ports
        .posts
        .expect_list()
        .times(1)
        .returning(|_, _, _| Ok(vec![post_view(2, "Alice")]));
    let service = ports.into_service();

    let result = service.all_posts(page(3, Some(3)), None).await.unwrap();

    assert_eq!(ids(&result, |post| post.id.get()), [2]);
    assert_eq!(result.next_after, None);
}

#[tokio::test]
async fn an_empty_list_is_an_empty_last_page() {
    let mut ports = Ports::new();
    ports
        .posts
        .expect_list()
        .times(1)
        .returning(|_, _, _| Ok(vec![]));
    let service = ports.into_service();

    let result = service.all_posts(page(20, None), None).await.unwrap();

    assert_eq!(
        result,
        Page {
            items: vec![],
            next_after: None
        }
    );
}

#[tokio::test]
async fn a_timeline_lists_the_users_posts_by_their_id_as_stored() {
    let mut ports = Ports::new();
    ports.knows(user_record("Alice"));
    let request = page(2, None);
    ports
        .posts
        .expect_list()
        .with(
            eq(PostFilter::Owner("Alice".into())),
            eq(request),
            eq(viewer("Bob1")),
        )
        .times(1)
        .returning(|_, _, _| {
            Ok([9, 5, 2]
                .into_iter()
                .map(|id| post_view(id, "Alice"))
                .collect())
        });
    let service = ports.into_service();

    let result = service
        .timeline("alice", request, viewer("Bob1"))
        .await
        .unwrap();

    assert_eq!(ids(&result, |post| post.id.get()), [9, 5]);
    assert_eq!(result.next_after, Some(5));
}

#[tokio::test]
async fn the_timeline_of_an_unknown_user_answers_user_not_found_and_lists_nothing() {
    let mut ports = Ports::new();
    ports.knows(user_record("Alice"));
    ports.posts.expect_list().never();
    let service = ports.into_service();

    let result = service.timeline("nobody", page(20, None), None).await;

    assert!(
        matches!(&result, Err(SocialError::UserNotFound(id)) if id == "nobody"),
        "{result:?}"
    );
}

// create_comment

#[tokio::test]
async fn commenting_on_someone_elses_post_notifies_its_owner() {
    let mut ports = Ports::new();
    ports.post_owned_by(POST, "Alice");
    let created = comment_view(11, POST, "Bob1");
    ports
        .comments
        .expect_create()
        .with(
            eq(POST),
            eq("Bob1"),
            eq(comment_content("nice")),
            eq(Some("Alice".to_owned())),
        )
        .times(1)
        .returning({
            let created = created.clone();
            move |_, _, _, _| Ok(Some(created.clone()))
        });
    let service = ports.into_service();

    let result = service
        .create_comment("Bob1", POST, comment_content("nice"))
        .await;

    assert_eq!(result.unwrap(), created);
}

#[tokio::test]
async fn commenting_on_ones_own_post_notifies_nobody() {
    let mut ports = Ports::new();
    ports.post_owned_by(POST, "Alice");
    ports
        .comments
        .expect_create()
        .with(
            eq(POST),
            eq("Alice"),
            eq(comment_content("me too")),
            eq(None),
        )
        .times(1)
        .returning(|_, _, _, _| Ok(Some(comment_view(11, POST, "Alice"))));
    let service = ports.into_service();

    let result = service
        .create_comment("Alice", POST, comment_content("me too"))
        .await;

    assert!(result.is_ok(), "{result:?}");
}

#[tokio::test]
async fn commenting_on_ones_own_post_in_another_letter_case_notifies_nobody() {
    let mut ports = Ports::new();
    ports.post_owned_by(POST, "Alice");
    ports
        .comments
        .expect_create()
        .withf(|_, _, _, notify| notify.is_none())
        .times(1)
        .returning(|_, _, _, _| Ok(Some(comment_view(11, POST, "Alice"))));
    let service = ports.into_service();

    let result = service
        .create_comment("ALICE", POST, comment_content("me too"))
        .await;

    assert!(result.is_ok(), "{result:?}");
}

#[tokio::test]
async fn commenting_on_a_missing_post_answers_post_not_found_and_creates_nothing() {
    let mut ports = Ports::new();
    ports.no_post(POST);
    ports.comments.expect_create().never();
    let service = ports.into_service();

    let result = service
        .create_comment("Bob1", POST, comment_content("hello?"))
        .await;

    assert!(
        matches!(result, Err(SocialError::PostNotFound(id)) if id == POST),
        "{result:?}"
    );
}

#[tokio::test]
async fn a_post_deleted_before_the_comment_is_stored_answers_post_not_found() {
    let mut ports = Ports::new();
    ports.post_owned_by(POST, "Alice");
    ports
        .comments
        .expect_create()
        .times(1)
        .returning(|_, _, _, _| Ok(None));
    let service = ports.into_service();

    let result = service
        .create_comment("Bob1", POST, comment_content("too late"))
        .await;

    assert!(
        matches!(result, Err(SocialError::PostNotFound(id)) if id == POST),
        "{result:?}"
    );
}

// comments: pages

#[tokio::test]
async fn comments_come_oldest_first_in_pages_continuing_after_the_last_item() {
    let mut ports = Ports::new();
    ports.post_owned_by(POST, "Alice");
    let request = page(2, Some(1));
    ports
        .comments
        .expect_list()
        .with(eq(POST), eq(request), eq(viewer("Bob1")))
        .times(1)
        .returning(|_, _, _| {
            Ok([2, 3, 4]
                .into_iter()
                .map(|id| comment_view(id, POST, "Bob1"))
                .collect())
        });
    let service = ports.into_service();

    let result = service
        .comments(POST, request, viewer("Bob1"))
        .await
        .unwrap();

    assert_eq!(ids(&result, |comment| comment.id.get()), [2, 3]);
    assert_eq!(result.next_after, Some(3));
}

#[tokio::test]
async fn the_last_page_of_comments_has_no_continuation() {
    let mut ports = Ports::new();
    ports.post_owned_by(POST, "Alice");
    ports.comments.expect_list().times(1).returning(|_, _, _| {
        Ok([2, 3]
            .into_iter()
            .map(|id| comment_view(id, POST, "Bob1"))
            .collect())
    });
    let service = ports.into_service();

    let result = service.comments(POST, page(2, None), None).await.unwrap();

    assert_eq!(ids(&result, |comment| comment.id.get()), [2, 3]);
    assert_eq!(result.next_after, None);
}

#[tokio::test]
async fn the_comments_of_a_missing_post_answer_post_not_found() {
    let mut ports = Ports::new();
    ports.no_post(POST);
    ports.comments.expect_list().never();
    let service = ports.into_service();

    let result = service.comments(POST, page(20, None), None).await;

    assert!(
        matches!(result, Err(SocialError::PostNotFound(id)) if id == POST),
        "{result:?}"
    );
}

// update_comment

#[tokio::test]
async fn the_author_updates_their_comment() {
    let mut ports = Ports::new();
    ports.comment_by(COMMENT, "Bob1", "Alice");
    let mut updated = comment_view(11, POST, "Bob1");
    updated.modified = true;
    ports
        .comments
        .expect_update()
        .with(
            eq(COMMENT),
            eq(comment_content("fixed")),
            eq("Bob1".to_owned()),
        )
        .times(1)
        .returning({
            let updated = updated.clone();
            move |_, _, _| Ok(Some(updated.clone()))
        });
    let service = ports.into_service();

    let result = service
        .update_comment("Bob1", COMMENT, comment_content("fixed"))
        .await;

    assert_eq!(result.unwrap(), updated);
}

#[tokio::test]
async fn the_author_is_recognised_ignoring_letter_case_when_updating_a_comment() {
    let mut ports = Ports::new();
    ports.comment_by(COMMENT, "Bob1", "Alice");
    ports
        .comments
        .expect_update()
        .withf(|id, _, _| *id == COMMENT)
        .times(1)
        .returning(|_, _, _| Ok(Some(comment_view(11, POST, "Bob1"))));
    let service = ports.into_service();

    let result = service
        .update_comment("BOB1", COMMENT, comment_content("fixed"))
        .await;

    assert!(result.is_ok(), "{result:?}");
}

#[tokio::test]
async fn the_post_owner_cannot_update_someone_elses_comment_on_their_post() {
    let mut ports = Ports::new();
    ports.comment_by(COMMENT, "Bob1", "Alice");
    ports.comments.expect_update().never();
    let service = ports.into_service();

    let result = service
        .update_comment("Alice", COMMENT, comment_content("censored"))
        .await;

    assert!(matches!(result, Err(SocialError::Forbidden)), "{result:?}");
}

#[tokio::test]
async fn a_third_user_cannot_update_a_comment() {
    let mut ports = Ports::new();
    ports.comment_by(COMMENT, "Bob1", "Alice");
    ports.comments.expect_update().never();
    let service = ports.into_service();

    let result = service
        .update_comment("Carol", COMMENT, comment_content("hijacked"))
        .await;

    assert!(matches!(result, Err(SocialError::Forbidden)), "{result:?}");
}

#[tokio::test]
async fn updating_a_missing_comment_answers_comment_not_found() {
    let mut ports = Ports::new();
    ports.no_comment(COMMENT);
    ports.comments.expect_update().never();
    let service = ports.into_service();

    let result = service
        .update_comment("Bob1", COMMENT, comment_content("fixed"))
        .await;

    assert!(
        matches!(result, Err(SocialError::CommentNotFound(id)) if id == COMMENT),
        "{result:?}"
    );
}

#[tokio::test]
async fn a_comment_deleted_between_the_author_check_and_the_update_answers_comment_not_found() {
    let mut ports = Ports::new();
    ports.comment_by(COMMENT, "Bob1", "Alice");
    ports
        .comments
        .expect_update()
        .times(1)
        .returning(|_, _, _| Ok(None));
    let service = ports.into_service();

    let result = service
        .update_comment("Bob1", COMMENT, comment_content("fixed"))
        .await;

    assert!(
        matches!(result, Err(SocialError::CommentNotFound(id)) if id == COMMENT),
        "{result:?}"
    );
}

// delete_comment

#[tokio::test]
async fn the_author_deletes_their_comment() {
    let mut ports = Ports::new();
    ports.comment_by(COMMENT, "Bob1", "Alice");
    ports
        .comments
        .expect_delete()
        .with(eq(COMMENT))
        .times(1)
        .returning(|_| Ok(true));
    let service = ports.into_service();

    let result = service.delete_comment("Bob1", COMMENT).await;

    assert!(result.is_ok(), "{result:?}");
}

#[tokio::test]
async fn the_post_owner_deletes_a_comment_on_their_post_whatever_the_letter_case() {
    let mut ports = Ports::new();
    ports.comment_by(COMMENT, "Bob1", "Alice");
    ports
        .comments
        .expect_delete()
        .with(eq(COMMENT))
        .times(1)
        .returning(|_| Ok(true));
    let service = ports.into_service();

    let result = service.delete_comment("aLiCe", COMMENT).await;

    assert!(result.is_ok(), "{result:?}");
}

#[tokio::test]
async fn a_third_user_cannot_delete_a_comment() {
    let mut ports = Ports::new();
    ports.comment_by(COMMENT, "Bob1", "Alice");
    ports.comments.expect_delete().never();
    let service = ports.into_service();

    let result = service.delete_comment("Carol", COMMENT).await;

    assert!(matches!(result, Err(SocialError::Forbidden)), "{result:?}");
}

#[tokio::test]
async fn deleting_a_missing_comment_answers_comment_not_found() {
    let mut ports = Ports::new();
    ports.no_comment(COMMENT);
    ports.comments.expect_delete().never();
    let service = ports.into_service();

    let result = service.delete_comment("Bob1", COMMENT).await;

    assert!(
        matches!(result, Err(SocialError::CommentNotFound(id)) if id == COMMENT),
        "{result:?}"
    );
}

#[tokio::test]
async fn a_comment_deleted_between_the_check_and_the_delete_answers_comment_not_found() {
    let mut ports = Ports::new();
    ports.comment_by(COMMENT, "Bob1", "Alice");
    ports
        .comments
        .expect_delete()
        .times(1)
        .returning(|_| Ok(false));
    let service = ports.into_service();

    let result = service.delete_comment("Bob1", COMMENT).await;

    assert!(
        matches!(result, Err(SocialError::CommentNotFound(id)) if id == COMMENT),
        "{result:?}"
    );
}

// react_to_post and withdraw_post_reaction

#[tokio::test]
async fn reacting_to_someone_elses_post_notifies_its_owner() {
    let mut ports = Ports::new();
    ports.post_owned_by(POST, "Alice");
    ports
        .reactions
        .expect_put_on_post()
        .with(
            eq(POST),
            eq("Bob1"),
            eq(kind(3)),
            eq(Some("Alice".to_owned())),
        )
        .times(1)
        .returning(|_, _, kind, _| Ok(Some(ReactionChange::Created(reaction(kind, false)))));
    let service = ports.into_service();

    let result = service.react_to_post("Bob1", POST, kind(3)).await;

    assert!(
        matches!(result, Ok(ReactionChange::Created(_))),
        "{result:?}"
    );
}

#[tokio::test]
async fn reacting_to_ones_own_post_notifies_nobody() {
    let mut ports = Ports::new();
    ports.post_owned_by(POST, "Alice");
    ports
        .reactions
        .expect_put_on_post()
        .with(eq(POST), eq("alice"), eq(kind(1)), eq(None))
        .times(1)
        .returning(|_, _, kind, _| Ok(Some(ReactionChange::Created(reaction(kind, false)))));
    let service = ports.into_service();

    let result = service.react_to_post("alice", POST, kind(1)).await;

    assert!(result.is_ok(), "{result:?}");
}

#[tokio::test]
async fn reacting_to_a_post_answers_created_changed_or_unchanged_as_the_repository_says() {
    for change in [
        ReactionChange::Created(reaction(kind(2), false)),
        ReactionChange::Changed(reaction(kind(4), true)),
        ReactionChange::Unchanged(reaction(kind(4), true)),
    ] {
        let mut ports = Ports::new();
        ports.post_owned_by(POST, "Alice");
        ports.reactions.expect_put_on_post().times(1).returning({
            let change = change.clone();
            move |_, _, _, _| Ok(Some(change.clone()))
        });
        let service = ports.into_service();

        let result = service.react_to_post("Bob1", POST, kind(4)).await;

        assert_eq!(result.unwrap(), change);
    }
}

#[tokio::test]
async fn reacting_to_a_missing_post_answers_post_not_found_and_stores_nothing() {
    let mut ports = Ports::new();
    ports.no_post(POST);
    ports.reactions.expect_put_on_post().never();
    let service = ports.into_service();

    let result = service.react_to_post("Bob1", POST, kind(1)).await;

    assert!(
        matches!(result, Err(SocialError::PostNotFound(id)) if id == POST),
        "{result:?}"
    );
}

#[tokio::test]
async fn a_post_deleted_before_the_reaction_is_stored_answers_post_not_found() {
    let mut ports = Ports::new();
    ports.post_owned_by(POST, "Alice");
    ports
        .reactions
        .expect_put_on_post()
        .times(1)
        .returning(|_, _, _, _| Ok(None));
    let service = ports.into_service();

    let result = service.react_to_post("Bob1", POST, kind(1)).await;

    assert!(
        matches!(result, Err(SocialError::PostNotFound(id)) if id == POST),
        "{result:?}"
    );
}

#[tokio::test]
async fn withdrawing_my_reaction_on_a_post_deletes_it() {
    let mut ports = Ports::new();
    ports.post_owned_by(POST, "Alice");
    ports
        .reactions
        .expect_delete_on_post()
        .with(eq(POST), eq("Bob1"))
        .times(1)
        .returning(|_, _| Ok(true));
    let service = ports.into_service();

    let result = service.withdraw_post_reaction("Bob1", POST).await;

    assert!(result.is_ok(), "{result:?}");
}

#[tokio::test]
async fn withdrawing_a_post_reaction_i_do_not_have_answers_reaction_not_found() {
    let mut ports = Ports::new();
    ports.post_owned_by(POST, "Alice");
    ports
        .reactions
        .expect_delete_on_post()
        .times(1)
        .returning(|_, _| Ok(false));
    let service = ports.into_service();

    let result = service.withdraw_post_reaction("Bob1", POST).await;

    assert!(
        matches!(&result, Err(SocialError::ReactionNotFound(what)) if what == "post 7"),
        "{result:?}"
    );
}

#[tokio::test]
async fn withdrawing_a_reaction_on_a_missing_post_answers_post_not_found_and_deletes_nothing() {
    let mut ports = Ports::new();
    ports.no_post(POST);
    ports.reactions.expect_delete_on_post().never();
    let service = ports.into_service();

    let result = service.withdraw_post_reaction("Bob1", POST).await;

    assert!(
        matches!(result, Err(SocialError::PostNotFound(id)) if id == POST),
        "{result:?}"
    );
}

// react_to_comment and withdraw_comment_reaction

#[tokio::test]
async fn reacting_to_a_comment_notifies_nobody_and_answers_as_the_repository_says() {
    // put_on_comment has no `notify` parameter, and no other port is
    // arranged: neither the post's owner nor the comment's author is looked
    // up to be notified.
    for change in [
        ReactionChange::Created(reaction(kind(5), false)),
        ReactionChange::Changed(reaction(kind(5), true)),
        ReactionChange::Unchanged(reaction(kind(5), false)),
    ] {
        let mut ports = Ports::new();
        ports
            .reactions
            .expect_put_on_comment()
            .with(eq(COMMENT), eq("Alice"), eq(kind(5)))
            .times(1)
            .returning({
                let change = change.clone();
                move |_, _, _| Ok(Some(change.clone()))
            });
        let service = ports.into_service();

        let result = service.react_to_comment("Alice", COMMENT, kind(5)).await;

        assert_eq!(result.unwrap(), change);
    }
}

#[tokio::test]
async fn reacting_to_a_missing_comment_answers_comment_not_found() {
    let mut ports = Ports::new();
    ports
        .reactions
        .expect_put_on_comment()
        .times(1)
        .returning(|_, _, _| Ok(None));
    let service = ports.into_service();

    let result = service.react_to_comment("Alice", COMMENT, kind(5)).await;

    assert!(
        matches!(result, Err(SocialError::CommentNotFound(id)) if id == COMMENT),
        "{result:?}"
    );
}

#[tokio::test]
async fn withdrawing_my_reaction_on_a_comment_deletes_it() {
    let mut ports = Ports::new();
    ports
        .reactions
        .expect_comment_exists()
        .with(eq(COMMENT))
        .returning(|_| Ok(true));
    ports
        .reactions
        .expect_delete_on_comment()
        .with(eq(COMMENT), eq("Alice"))
        .times(1)
        .returning(|_, _| Ok(true));
    let service = ports.into_service();

    let result = service.withdraw_comment_reaction("Alice", COMMENT).await;

    assert!(result.is_ok(), "{result:?}");
}

#[tokio::test]
async fn withdrawing_a_comment_reaction_i_do_not_have_answers_reaction_not_found() {
    let mut ports = Ports::new();
    ports
        .reactions
        .expect_comment_exists()
        .returning(|_| Ok(true));
    ports
        .reactions
        .expect_delete_on_comment()
        .times(1)
        .returning(|_, _| Ok(false));
    let service = ports.into_service();

    let result = service.withdraw_comment_reaction("Alice", COMMENT).await;

    assert!(
        matches!(&result, Err(SocialError::ReactionNotFound(what)) if what == "comment 11"),
        "{result:?}"
    );
}

#[tokio::test]
async fn withdrawing_a_reaction_on_a_missing_comment_answers_comment_not_found_and_deletes_nothing()
{
    let mut ports = Ports::new();
    ports
        .reactions
        .expect_comment_exists()
        .with(eq(COMMENT))
        .returning(|_| Ok(false));
    ports.reactions.expect_delete_on_comment().never();
    let service = ports.into_service();

    let result = service.withdraw_comment_reaction("Alice", COMMENT).await;

    assert!(
        matches!(result, Err(SocialError::CommentNotFound(id)) if id == COMMENT),
        "{result:?}"
    );
}

// notifications

#[tokio::test]
async fn my_notifications_come_as_a_page_with_my_unread_count() {
    let mut ports = Ports::new();
    let request = page(2, Some(50));
    ports
        .notifications
        .expect_list()
        .with(eq("Alice"), eq(true), eq(request))
        .times(1)
        .returning(|_, _, _| {
            Ok([40, 30, 20]
                .into_iter()
                .map(|id| notification_view(id, "Bob1"))
                .collect())
        });
    ports
        .notifications
        .expect_unread_count()
        .with(eq("Alice"))
        .times(1)
        .returning(|_| Ok(5));
    let service = ports.into_service();

    let result = service.notifications("Alice", true, request).await.unwrap();

    assert_eq!(ids(&result.page, |n| n.id.get()), [40, 30]);
    assert_eq!(result.page.next_after, Some(30));
    assert_eq!(result.unread_count, 5);
}

#[tokio::test]
async fn the_last_page_of_notifications_has_no_continuation_but_still_the_unread_count() {
    let mut ports = Ports::new();
    ports
        .notifications
        .expect_list()
        .with(eq("Alice"), eq(false), eq(page(20, None)))
        .times(1)
        .returning(|_, _, _| Ok(vec![notification_view(1, "Bob1")]));
    ports
        .notifications
        .expect_unread_count()
        .times(1)
        .returning(|_| Ok(0));
    let service = ports.into_service();

    let result = service
        .notifications("Alice", false, page(20, None))
        .await
        .unwrap();

    assert_eq!(ids(&result.page, |n| n.id.get()), [1]);
    assert_eq!(result.page.next_after, None);
    assert_eq!(result.unread_count, 0);
}

#[tokio::test]
async fn marking_my_notification_read_succeeds() {
    let mut ports = Ports::new();
    ports
        .notifications
        .expect_mark_read()
        .with(eq("Alice"), eq(NOTIFICATION))
        .times(1)
        .returning(|_, _| Ok(true));
    let service = ports.into_service();

    let result = service.mark_notification_read("Alice", NOTIFICATION).await;

    assert!(result.is_ok(), "{result:?}");
}

#[tokio::test]
async fn marking_a_notification_that_is_not_mine_read_answers_notification_not_found() {
    let mut ports = Ports::new();
    ports
        .notifications
        .expect_mark_read()
        .with(eq("Bob1"), eq(NOTIFICATION))
        .times(1)
        .returning(|_, _| Ok(false));
    let service = ports.into_service();

    let result = service.mark_notification_read("Bob1", NOTIFICATION).await;

    assert!(
        matches!(result, Err(SocialError::NotificationNotFound(id)) if id == NOTIFICATION),
        "{result:?}"
    );
}

#[tokio::test]
async fn marking_all_notifications_read_marks_all_of_mine() {
    let mut ports = Ports::new();
    ports
        .notifications
        .expect_mark_all_read()
        .with(eq("Alice"))
        .times(1)
        .returning(|_| Ok(()));
    let service = ports.into_service();

    let result = service.mark_all_notifications_read("Alice").await;

    assert!(result.is_ok(), "{result:?}");
}

// store failures

#[tokio::test]
async fn a_store_failure_while_checking_the_owner_propagates_and_changes_nothing() {
    let mut ports = Ports::new();
    ports
        .posts
        .expect_owner_of()
        .times(1)
        .returning(|_| Err(unavailable()));
    ports.posts.expect_delete().never();
    let service = ports.into_service();

    let result = service.delete_post("Alice", POST).await;

    assert!(result.as_ref().is_err_and(is_unavailable), "{result:?}");
}

#[tokio::test]
async fn a_store_failure_while_finding_a_timelines_user_propagates_and_lists_nothing() {
    let mut ports = Ports::new();
    ports
        .users
        .expect_find()
        .times(1)
        .returning(|_| Err(unavailable()));
    ports.posts.expect_list().never();
    let service = ports.into_service();

    let result = service.timeline("Alice", page(20, None), None).await;

    assert!(result.as_ref().is_err_and(is_unavailable), "{result:?}");
}

#[tokio::test]
async fn a_store_failure_while_storing_a_comment_propagates_as_a_store_error() {
    let mut ports = Ports::new();
    ports.post_owned_by(POST, "Alice");
    ports
        .comments
        .expect_create()
        .times(1)
        .returning(|_, _, _, _| Err(StoreError::Other(anyhow::anyhow!("deadlock detected"))));
    let service = ports.into_service();

    let result = service
        .create_comment("Bob1", POST, comment_content("hi"))
        .await;

    assert!(
        matches!(&result, Err(SocialError::Store(StoreError::Other(error))) if error.to_string() == "deadlock detected"),
        "{result:?}"
    );
}

#[tokio::test]
async fn a_store_failure_while_reacting_propagates_as_a_store_error() {
    let mut ports = Ports::new();
    ports
        .reactions
        .expect_put_on_comment()
        .times(1)
        .returning(|_, _, _| Err(unavailable()));
    let service = ports.into_service();

    let result = service.react_to_comment("Alice", COMMENT, kind(1)).await;

    assert!(result.as_ref().is_err_and(is_unavailable), "{result:?}");
}

#[tokio::test]
async fn a_store_failure_while_counting_unread_notifications_propagates_as_a_store_error() {
    let mut ports = Ports::new();
    ports
        .notifications
        .expect_list()
        .times(1)
        .returning(|_, _, _| Ok(vec![]));
    ports
        .notifications
        .expect_unread_count()
        .times(1)
        .returning(|_| Err(unavailable()));
    let service = ports.into_service();

    let result = service.notifications("Alice", false, page(20, None)).await;

    assert!(result.as_ref().is_err_and(is_unavailable), "{result:?}");
}
