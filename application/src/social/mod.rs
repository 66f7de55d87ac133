//! The social core's use cases: posts and timelines, comments, reactions,
//! notifications. Business rules live here: who may change what, how pages
//! are cut. Who is notified of what (a post's owner, never of their own
//! actions) is the comment and reaction ports' contract: the repository
//! stores the notification with the write, in one round trip, rather than
//! after a lookup of the owner here.

pub mod ports;
mod retries;

use std::sync::Arc;

use minifb_domain::{
    CommentContent, CommentId, NotificationId, PostContent, PostId, ReactionKind, UserId,
};

use crate::StoreError;
use crate::ports::UserRepository;
pub use ports::ReactionTarget;
use ports::{
    CommentCreation, CommentOwners, CommentRepository, CommentView, IdempotencyRepository,
    NewComment, NotificationRepository, NotificationView, PageRequest, PostRepository, PostView,
    ReactionChange, ReactionRepository,
};
pub use retries::Created;

/// What a social use case can answer besides success.
#[derive(Debug, thiserror::Error)]
pub enum SocialError {
    #[error("post {0} does not exist")]
    PostNotFound(PostId),
    #[error("comment {0} does not exist")]
    CommentNotFound(CommentId),
    #[error("user '{0}' does not exist")]
    UserNotFound(UserId),
    #[error("notification {0} does not exist")]
    NotificationNotFound(NotificationId),
    #[error("you have no reaction on {0}")]
    ReactionNotFound(ReactionTarget),
    /// The caller may not change this resource; the HTTP layer names the
    /// method and path in its hint.
    #[error("not allowed")]
    Forbidden,
    /// The caller's account no longer exists (removed since its token was
    /// issued).
    #[error("the token's account no longer exists")]
    CallerGone,
    /// Another request with the same `Idempotency-Key` is still being
    /// processed.
    #[error(
        "a request with this Idempotency-Key is still being processed; retry when it has been answered"
    )]
    KeyInProgress,
    /// The `Idempotency-Key` was used for another request (method, path or
    /// body) within its lifetime.
    #[error(
        "this Idempotency-Key was already used for another request; use a new key for a new request"
    )]
    KeyReused,
    #[error(transparent)]
    Store(StoreError),
}

impl From<StoreError> for SocialError {
    /// A write refused for a missing user names the caller: the only user a
    /// social write refers to that can vanish without its target vanishing
    /// too (a post's owner goes with the post).
    fn from(error: StoreError) -> Self {
        match error {
            StoreError::UserGone => Self::CallerGone,
            other => Self::Store(other),
        }
    }
}

impl SocialError {
    /// Whether a caller who no longer exists would also explain this
    /// answer: their posts, comments, reactions and notifications went with
    /// their account.
    fn may_mean_caller_gone(&self) -> bool {
        matches!(
            self,
            Self::PostNotFound(_)
                | Self::CommentNotFound(_)
                | Self::NotificationNotFound(_)
                | Self::ReactionNotFound(_)
                | Self::UserNotFound(_)
                | Self::Forbidden
        )
    }
}

/// A write or lookup that answers whether it found its target: `missing`
/// when it did not.
fn found(found: bool, missing: SocialError) -> Result<(), SocialError> {
    if found { Ok(()) } else { Err(missing) }
}

/// A permission check: [`SocialError::Forbidden`] unless `allowed`.
fn allowed(allowed: bool) -> Result<(), SocialError> {
    found(allowed, SocialError::Forbidden)
}

impl ReactionTarget {
    /// The answer when the target does not exist.
    fn missing(self) -> SocialError {
        match self {
            Self::Post(id) => SocialError::PostNotFound(id),
            Self::Comment(id) => SocialError::CommentNotFound(id),
        }
    }
}

/// A page of items and the key to continue after, if there is more.
#[derive(Debug, Clone, PartialEq)]
pub struct Page<T> {
    pub items: Vec<T>,
    pub next_after: Option<i64>,
}

impl<T> Page<T> {
    /// Cuts the `limit + 1` rows a repository returned into a page.
    fn cut(mut rows: Vec<T>, page: PageRequest, key: impl Fn(&T) -> i64) -> Self {
        let limit = page.limit.get() as usize;
        let next_after = if rows.len() > limit {
            rows.truncate(limit);
            rows.last().map(&key)
        } else {
            None
        };
        Self {
            items: rows,
            next_after,
        }
    }
}

/// A page of notifications and how many are unread.
#[derive(Debug, Clone, PartialEq)]
pub struct NotificationPage {
    pub page: Page<NotificationView>,
    pub unread_count: i64,
}

#[derive(Clone)]
pub struct SocialService {
    pub users: Arc<dyn UserRepository>,
    pub posts: Arc<dyn PostRepository>,
    pub comments: Arc<dyn CommentRepository>,
    pub reactions: Arc<dyn ReactionRepository>,
    pub notifications: Arc<dyn NotificationRepository>,
    pub retries: Arc<dyn IdempotencyRepository>,
}

impl SocialService {
    pub async fn create_post(
        &self,
        user_id: &UserId,
        content: PostContent,
    ) -> Result<PostView, SocialError> {
        Ok(self.posts.create(user_id, content).await?)
    }

    pub async fn post(&self, id: PostId, viewer: Option<UserId>) -> Result<PostView, SocialError> {
        let post = self.posts.find(id, viewer).await?;
        post.ok_or(SocialError::PostNotFound(id))
    }

    /// Only the owner edits a post. The repository's write is guarded by
    /// the rule; only a write that changed nothing looks the owner up, to
    /// answer 404 or 403.
    pub async fn update_post(
        &self,
        user_id: &UserId,
        id: PostId,
        content: PostContent,
    ) -> Result<PostView, SocialError> {
        let update = async {
            if let Some(post) = self.posts.update(id, content, user_id).await? {
                return Ok(post);
            }
            allowed(self.post_owner(id).await? == *user_id)?;
            Err(SocialError::PostNotFound(id))
        };
        self.for_caller(user_id, update).await
    }

    /// Only the owner deletes a post; its comments, reactions and
    /// notifications go with it.
    pub async fn delete_post(&self, user_id: &UserId, id: PostId) -> Result<(), SocialError> {
        let delete = async {
            if self.posts.delete(id, user_id).await? {
                return Ok(());
            }
            allowed(self.post_owner(id).await? == *user_id)?;
            Err(SocialError::PostNotFound(id))
        };
        self.for_caller(user_id, delete).await
    }

    /// Settles a use case on the caller's own data: when it found nothing,
    /// or found that the thing is not theirs, and the caller's account no
    /// longer exists, the answer is [`SocialError::CallerGone`]. The extra
    /// lookup runs on such failures only, never on success.
    async fn for_caller<T>(
        &self,
        caller: &UserId,
        work: impl Future<Output = Result<T, SocialError>>,
    ) -> Result<T, SocialError> {
        match work.await {
            Err(error) if error.may_mean_caller_gone() && !self.caller_exists(caller).await? => {
                Err(SocialError::CallerGone)
            }
            other => other,
        }
    }

    async fn caller_exists(&self, caller: &UserId) -> Result<bool, SocialError> {
        Ok(self.users.find(caller).await?.is_some())
    }

    async fn post_owner(&self, id: PostId) -> Result<UserId, SocialError> {
        let owner = self.posts.owner_of(id).await?;
        owner.ok_or(SocialError::PostNotFound(id))
    }

    async fn comment_owners(&self, id: CommentId) -> Result<CommentOwners, SocialError> {
        let owners = self.comments.owners(id).await?;
        owners.ok_or(SocialError::CommentNotFound(id))
    }

    /// Everyone's posts, newest first.
    pub async fn all_posts(
        &self,
        page: PageRequest,
        viewer: Option<UserId>,
    ) -> Result<Page<PostView>, SocialError> {
        let rows = self.posts.list(page, viewer).await?;
        Ok(Page::cut(rows, page, |post| post.id.get()))
    }

    /// One user's posts, newest first; the user must exist.
    pub async fn timeline(
        &self,
        user_id: &UserId,
        page: PageRequest,
        viewer: Option<UserId>,
    ) -> Result<Page<PostView>, SocialError> {
        let rows = self.posts.list_by_owner(user_id, page, viewer).await?;
        let rows = rows.ok_or_else(|| SocialError::UserNotFound(user_id.clone()))?;
        Ok(Page::cut(rows, page, |post| post.id.get()))
    }

    /// The caller's own posts, newest first.
    pub async fn my_timeline(
        &self,
        caller: &UserId,
        page: PageRequest,
    ) -> Result<Page<PostView>, SocialError> {
        let timeline = self.timeline(caller, page, Some(caller.clone()));
        self.for_caller(caller, timeline).await
    }

    /// Comments on a post notify its owner, unless they wrote it (the
    /// repository stores the notification with the comment, in one write).
    pub async fn create_comment(
        &self,
        user_id: &UserId,
        post_id: PostId,
        content: CommentContent,
    ) -> Result<CommentView, SocialError> {
        let create = async {
            let comment = NewComment {
                post_id,
                author_id: user_id.clone(),
                content,
            };
            match self.comments.create(comment).await? {
                CommentCreation::Created(comment) => Ok(comment),
                CommentCreation::PostGone => Err(SocialError::PostNotFound(post_id)),
            }
        };
        self.for_caller(user_id, create).await
    }

    /// A post's comments, oldest first.
    pub async fn comments(
        &self,
        post_id: PostId,
        page: PageRequest,
        viewer: Option<UserId>,
    ) -> Result<Page<CommentView>, SocialError> {
        let rows = self.comments.list(post_id, page, viewer).await?;
        let rows = rows.ok_or(SocialError::PostNotFound(post_id))?;
        Ok(Page::cut(rows, page, |comment| comment.id.get()))
    }

    /// Only its author edits a comment (not the post's owner).
    pub async fn update_comment(
        &self,
        user_id: &UserId,
        id: CommentId,
        content: CommentContent,
    ) -> Result<CommentView, SocialError> {
        let update = async {
            if let Some(comment) = self.comments.update(id, content, user_id).await? {
                return Ok(comment);
            }
            allowed(self.comment_owners(id).await?.author_id == *user_id)?;
            Err(SocialError::CommentNotFound(id))
        };
        self.for_caller(user_id, update).await
    }

    /// Its author or the post's owner deletes a comment (the write is
    /// guarded by the rule; a refused one looks the owners up, as
    /// [`Self::update_post`] does).
    pub async fn delete_comment(&self, user_id: &UserId, id: CommentId) -> Result<(), SocialError> {
        let delete = async {
            if self.comments.delete(id, user_id).await? {
                return Ok(());
            }
            let owners = self.comment_owners(id).await?;
            allowed(owners.author_id == *user_id || owners.post_owner_id == *user_id)?;
            Err(SocialError::CommentNotFound(id))
        };
        self.for_caller(user_id, delete).await
    }

    /// Puts the caller's reaction on a post or a comment. A first reaction
    /// on a post notifies its owner, unless they reacted (the repository
    /// stores it with the reaction); one on a comment notifies nobody.
    pub async fn react(
        &self,
        user_id: &UserId,
        target: ReactionTarget,
        kind: ReactionKind,
    ) -> Result<ReactionChange, SocialError> {
        let react = async {
            let change = self.reactions.put(target, user_id, kind).await?;
            change.ok_or(target.missing())
        };
        self.for_caller(user_id, react).await
    }

    /// Removes the caller's reaction from a post or a comment that exists;
    /// one write when there is a reaction to remove.
    pub async fn withdraw_reaction(
        &self,
        user_id: &UserId,
        target: ReactionTarget,
    ) -> Result<(), SocialError> {
        // The delete comes first: a reaction found proves its target
        // exists, so only a request that finds none looks the target up,
        // to tell a missing post or comment from a missing reaction.
        let withdraw = async {
            if self.reactions.delete(target, user_id).await? {
                return Ok(());
            }
            let exists = match target {
                ReactionTarget::Post(post_id) => self.posts.owner_of(post_id).await?.is_some(),
                ReactionTarget::Comment(comment_id) => self.comments.exists(comment_id).await?,
            };
            found(exists, target.missing())?;
            Err(SocialError::ReactionNotFound(target))
        };
        self.for_caller(user_id, withdraw).await
    }

    /// The caller's notifications, newest first, with the unread count.
    pub async fn notifications(
        &self,
        user_id: &UserId,
        unread_only: bool,
        page: PageRequest,
    ) -> Result<NotificationPage, SocialError> {
        let listing = self.notifications.list(user_id, unread_only, page).await?;
        let listing = listing.ok_or(SocialError::CallerGone)?;
        Ok(NotificationPage {
            page: Page::cut(listing.rows, page, |n| n.id.get()),
            unread_count: listing.unread_count,
        })
    }

    /// Someone else's notification is as missing as one that never was.
    pub async fn mark_notification_read(
        &self,
        user_id: &UserId,
        id: NotificationId,
    ) -> Result<(), SocialError> {
        let mark = async {
            let marked = self.notifications.mark_read(user_id, id).await?;
            found(marked, SocialError::NotificationNotFound(id))
        };
        self.for_caller(user_id, mark).await
    }

    /// Nothing to mark is fine, unless the caller's account is gone.
    pub async fn mark_all_notifications_read(&self, user_id: &UserId) -> Result<(), SocialError> {
        match self.notifications.mark_all_read(user_id).await? {
            Some(_) => Ok(()),
            None => Err(SocialError::CallerGone),
        }
    }
}

#[cfg(test)]
mod tests;
