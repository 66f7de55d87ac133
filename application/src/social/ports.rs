//! Ports and read models of the social core: posts, comments, reactions,
//! notifications.
//!
//! Lists are keyset-paginated on ids (which grow with creation order): a
//! repository returns at most `limit + 1` rows after the cursor key, the
//! extra row telling the use case that another page exists. Views carry
//! everything a page needs (author, counts, the viewer's reaction), read in
//! one statement per page, never one per item.

use std::sync::Arc;

use async_trait::async_trait;
use chrono::{DateTime, TimeDelta, Utc};
use minifb_domain::{
    CommentContent, CommentId, IdempotencyKey, NotificationId, NotificationKind, PageLimit,
    PostContent, PostId, ReactionKind, UserId,
};

use crate::StoreError;

/// Who wrote something, as lists show it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Author {
    pub id: UserId,
    pub name: String,
    pub nickname: Option<String>,
}

/// Counts per reaction type: `counts[k - 1]` is the number of type `k`.
pub type ReactionCounts = [i64; 5];

#[derive(Debug, Clone, PartialEq)]
pub struct PostView {
    pub id: PostId,
    pub author: Author,
    pub content: String,
    pub created_at: DateTime<Utc>,
    pub updated_at: Option<DateTime<Utc>>,
    pub comment_count: i64,
    pub reaction_counts: ReactionCounts,
    /// The viewer's reaction; `None` without a viewer.
    pub my_reaction: Option<ReactionKind>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct CommentView {
    pub id: CommentId,
    pub post_id: PostId,
    pub author: Author,
    pub content: String,
    pub modified: bool,
    pub created_at: DateTime<Utc>,
    pub updated_at: Option<DateTime<Utc>>,
    pub reaction_counts: ReactionCounts,
    pub my_reaction: Option<ReactionKind>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct ReactionView {
    pub kind: ReactionKind,
    pub modified: bool,
    pub created_at: DateTime<Utc>,
}

/// What a `PUT` of a reaction did.
#[derive(Debug, Clone, PartialEq)]
pub enum ReactionChange {
    Created(ReactionView),
    Changed(ReactionView),
    Unchanged(ReactionView),
}

#[derive(Debug, Clone, PartialEq)]
pub struct NotificationView {
    pub id: NotificationId,
    pub kind: NotificationKind,
    pub actor: Author,
    pub post_id: PostId,
    pub comment_id: Option<CommentId>,
    pub read: bool,
    pub created_at: DateTime<Utc>,
}

/// Where a page starts and how long it is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PageRequest {
    pub limit: PageLimit,
    /// The key of the last item of the previous page; `None` for page one.
    pub after: Option<i64>,
}

impl PageRequest {
    /// How many rows a repository fetches for the page: its limit and one
    /// more, whose presence says that a next page exists.
    pub fn rows_to_fetch(&self) -> u32 {
        self.limit.get() + 1
    }
}

/// Who owns a comment and the post it is on: what permission checks need.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CommentOwners {
    pub author_id: UserId,
    pub post_id: PostId,
    pub post_owner_id: UserId,
}

/// What creating a comment did: `Created` holds the comment, or, for a
/// keyed create, the answer recorded with it.
#[derive(Debug, Clone, PartialEq)]
pub enum CommentCreation<C = CommentView> {
    Created(C),
    /// The post was deleted between the check and the write.
    PostGone,
}

#[cfg_attr(any(test, feature = "mocks"), mockall::automock)]
#[async_trait]
pub trait PostRepository: Send + Sync {
    /// Stores a post by `owner_id` (an existing user) and returns it.
    async fn create(&self, owner_id: &UserId, content: PostContent)
    -> Result<PostView, StoreError>;

    /// The post as `viewer` sees it; `None` if it does not exist.
    async fn find(
        &self,
        id: PostId,
        viewer: Option<UserId>,
    ) -> Result<Option<PostView>, StoreError>;

    /// The post's owner; `None` if the post does not exist.
    async fn owner_of(&self, id: PostId) -> Result<Option<UserId>, StoreError>;

    /// Replaces the content and sets `updated_at`, if `viewer` owns the
    /// post (ids equal as [`UserId`]s are), and returns it as they see it;
    /// `None` if there is no such post or it is someone else's: the check
    /// is part of the write, and the caller tells the two apart afterwards.
    async fn update(
        &self,
        id: PostId,
        content: PostContent,
        viewer: &UserId,
    ) -> Result<Option<PostView>, StoreError>;

    /// Deletes the post, if `owner` owns it, with its comments, reactions
    /// and notifications, in one statement; `false` if there is no such
    /// post or it is someone else's.
    async fn delete(&self, id: PostId, owner: &UserId) -> Result<bool, StoreError>;

    /// Everyone's posts, newest first: up to `limit + 1` with ids below
    /// `after`.
    async fn list(
        &self,
        page: PageRequest,
        viewer: Option<UserId>,
    ) -> Result<Vec<PostView>, StoreError>;

    /// One user's posts (the id matched in any letter case), as
    /// [`Self::list`]; `None` if there is no such user. The user's
    /// existence and the page are one read, so a timeline costs one trip.
    async fn list_by_owner(
        &self,
        owner: &UserId,
        page: PageRequest,
        viewer: Option<UserId>,
    ) -> Result<Option<Vec<PostView>>, StoreError>;
}

/// A comment to store.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewComment {
    pub post_id: PostId,
    pub author_id: UserId,
    pub content: CommentContent,
}

/// What a reaction is on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReactionTarget {
    Post(PostId),
    Comment(CommentId),
}

impl std::fmt::Display for ReactionTarget {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Post(id) => write!(f, "post {id}"),
            Self::Comment(id) => write!(f, "comment {id}"),
        }
    }
}

#[cfg_attr(any(test, feature = "mocks"), mockall::automock)]
#[async_trait]
pub trait CommentRepository: Send + Sync {
    /// Stores the comment and, unless its author owns the post (their ids
    /// equal as [`UserId`]s are), a type 1 notification for the post's
    /// owner, all or nothing, with the write itself: nothing is looked up
    /// first. `PostGone` if there is no such post (any more).
    async fn create(&self, comment: NewComment) -> Result<CommentCreation, StoreError>;

    /// Whether the comment exists.
    async fn exists(&self, id: CommentId) -> Result<bool, StoreError>;

    /// Who may change the comment; `None` if it does not exist.
    async fn owners(&self, id: CommentId) -> Result<Option<CommentOwners>, StoreError>;

    /// Replaces the content, sets `modified` and `updated_at`, if `viewer`
    /// wrote the comment (ids equal as [`UserId`]s are); `None` if there is
    /// no such comment or someone else wrote it.
    async fn update(
        &self,
        id: CommentId,
        content: CommentContent,
        viewer: &UserId,
    ) -> Result<Option<CommentView>, StoreError>;

    /// Deletes the comment, if `by` wrote it or owns its post, and
    /// withdraws its notification if unread, in one statement; `false` if
    /// there is no such comment or `by` may not delete it.
    async fn delete(&self, id: CommentId, by: &UserId) -> Result<bool, StoreError>;

    /// Oldest first: up to `limit + 1` comments of the post with ids above
    /// `after`; `None` if the post does not exist (one read for both).
    async fn list(
        &self,
        post_id: PostId,
        page: PageRequest,
        viewer: Option<UserId>,
    ) -> Result<Option<Vec<CommentView>>, StoreError>;
}

#[cfg_attr(any(test, feature = "mocks"), mockall::automock)]
#[async_trait]
pub trait ReactionRepository: Send + Sync {
    /// Creates, changes or keeps `user_id`'s reaction on the target. A
    /// reaction created on a post, unless its user owns the post, stores a
    /// type 2 notification for the post's owner in the same transaction
    /// (one on a comment notifies nobody). Of concurrent identical requests
    /// exactly one creates. `None` if the target does not exist.
    async fn put(
        &self,
        target: ReactionTarget,
        user_id: &UserId,
        kind: ReactionKind,
    ) -> Result<Option<ReactionChange>, StoreError>;

    /// Removes `user_id`'s reaction, and on a post the notification it
    /// caused if still unread, in one transaction; `false` if there was
    /// none.
    async fn delete(&self, target: ReactionTarget, user_id: &UserId) -> Result<bool, StoreError>;
}

/// Notifications as a repository lists them: up to `limit + 1` rows and the
/// user's unread count at the same moment.
#[derive(Debug, Clone, PartialEq)]
pub struct NotificationListing {
    pub rows: Vec<NotificationView>,
    pub unread_count: i64,
}

#[cfg_attr(any(test, feature = "mocks"), mockall::automock)]
#[async_trait]
pub trait NotificationRepository: Send + Sync {
    /// Newest first: up to `limit + 1` of the user's notifications with ids
    /// below `after`, only unread ones when `unread_only`, with how many are
    /// unread, read together; `None` if there is no such user (any more).
    async fn list(
        &self,
        user_id: &UserId,
        unread_only: bool,
        page: PageRequest,
    ) -> Result<Option<NotificationListing>, StoreError>;

    /// Marks one of the user's notifications read; `false` if the user has
    /// no notification with this id.
    async fn mark_read(&self, user_id: &UserId, id: NotificationId) -> Result<bool, StoreError>;

    /// Marks all of the user's notifications read; how many were unread,
    /// or `None` if there is no such user (any more), found out by the
    /// same read, so that nothing to mark costs no second trip.
    async fn mark_all_read(&self, user_id: &UserId) -> Result<Option<u64>, StoreError>;
}

/// How long a create's answer is kept under its `Idempotency-Key`: a repeat
/// after this is a new request.
pub const IDEMPOTENCY_KEY_LIFETIME: TimeDelta = TimeDelta::hours(24);

/// A create that the client named with an `Idempotency-Key`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyedRequest {
    /// Keys belong to their user: the same key from another user is
    /// another key.
    pub user_id: UserId,
    pub key: IdempotencyKey,
    /// What the request asked for (method, path and body), as the HTTP side
    /// digests it: a repeat with another fingerprint is not a retry.
    pub fingerprint: String,
}

/// The answer a create got, exactly as the client received it, so that a
/// retry gets the very same bytes. Opaque to the use cases.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RecordedAnswer {
    pub status: u16,
    pub body: String,
}

/// An answer kept under a key, with the fingerprint of the request that
/// got it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Recorded {
    pub fingerprint: String,
    pub answer: RecordedAnswer,
}

/// Renders what a create made into the answer the client gets. The
/// repository calls it once, stores its result in the create's own
/// transaction and hands that very answer back, to be sent.
pub type Recorder<T> = Arc<dyn Fn(&T) -> anyhow::Result<RecordedAnswer> + Send + Sync>;

/// What a keyed create found under its key.
#[derive(Debug, Clone, PartialEq)]
pub enum Keyed<T> {
    /// The key had no live answer, so the create ran; `T` is the answer it
    /// stored, which the client is sent. A success was stored together
    /// with its answer, in one transaction; anything else (an error,
    /// [`CommentCreation::PostGone`]) left nothing behind under the key.
    Ran(T),
    /// The key already has a live answer: nothing ran.
    Taken(Recorded),
    /// Another request with this key is being processed right now, by this
    /// process or another: nothing ran.
    InProgress,
}

impl<T> Keyed<T> {
    /// The same finding, with what ran told another way.
    pub fn map<U>(self, ran: impl FnOnce(T) -> U) -> Keyed<U> {
        match self {
            Self::Ran(made) => Keyed::Ran(ran(made)),
            Self::Taken(recorded) => Keyed::Taken(recorded),
            Self::InProgress => Keyed::InProgress,
        }
    }
}

/// Creates guarded by `Idempotency-Key`s, kept in the database so that
/// every process honours them.
///
/// A key is claimed for the duration of its create: the claim, the create
/// and the recorded answer commit together or not at all, so a crash at any
/// point leaves either the created resource with its answer or neither. A
/// claim dies with the request that holds it (a process that dies mid-way
/// holds nothing afterwards). Answers recorded more than
/// [`IDEMPOTENCY_KEY_LIFETIME`] ago count as absent.
#[cfg_attr(any(test, feature = "mocks"), mockall::automock)]
#[async_trait]
pub trait IdempotencyRepository: Send + Sync {
    /// Claims the key and, if it had no live answer, stores a post by the
    /// request's user, as [`PostRepository::create`] would, with `record`'s
    /// answer, and returns that answer. `StoreError::UserGone` if the user
    /// no longer exists.
    async fn create_post(
        &self,
        request: KeyedRequest,
        content: PostContent,
        record: Recorder<PostView>,
    ) -> Result<Keyed<RecordedAnswer>, StoreError>;

    /// Claims the key and, if it had no live answer, stores the comment
    /// (and its notification), as [`CommentRepository::create`] would,
    /// with `record`'s answer, and returns that answer; `PostGone` stores
    /// nothing.
    async fn create_comment(
        &self,
        request: KeyedRequest,
        comment: NewComment,
        record: Recorder<CommentView>,
    ) -> Result<Keyed<CommentCreation<RecordedAnswer>>, StoreError>;

    /// Deletes every answer older than [`IDEMPOTENCY_KEY_LIFETIME`]; how
    /// many. Safe to run from several processes at once.
    async fn forget_expired(&self) -> Result<u64, StoreError>;
}
