//! The social core's use cases: posts and timelines, comments, reactions,
//! notifications. Business rules live here: who may change what, who is
//! notified of what (never of their own actions), how pages are cut.

pub mod ports;
mod retries;

use std::sync::Arc;

use minifb_domain::{
    CommentContent, CommentId, NotificationId, PostContent, PostId, ReactionKind, UserId,
};

use crate::StoreError;
use crate::ports::UserRepository;
use ports::{
    CommentCreation, CommentRepository, CommentView, IdempotencyRepository, NewComment,
    NotificationRepository, NotificationView, PageRequest, PostReaction, PostRepository, PostView,
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
    UserNotFound(String),
    #[error("notification {0} does not exist")]
    NotificationNotFound(NotificationId),
    #[error("you have no reaction on {0}")]
    ReactionNotFound(String),
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

/// A page of items and the key to continue after, if there is more.
#[derive(Debug, Clone, PartialEq)]
pub struct Page<T> {
    pub items: Vec<T>,
    pub next_after: Option<i64>,
}

impl<T> Page<T> {
    /// Cuts the `limit + 1` rows a repository returned into a page.
    fn cut(mut rows: Vec<T>, page: PageRequest, key: impl Fn(&T) -> i64) -> Self {
        let limit = page.limit as usize;
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
        self.posts
            .find(id, viewer)
            .await?
            .ok_or(SocialError::PostNotFound(id))
    }

    /// Only the owner edits a post.
    pub async fn update_post(
        &self,
        user_id: &UserId,
        id: PostId,
        content: PostContent,
    ) -> Result<PostView, SocialError> {
        let result: Result<PostView, SocialError> = async {
            self.check_post_owner(user_id, id).await?;
            self.posts
                .update(id, content, user_id)
                .await?
                .ok_or(SocialError::PostNotFound(id))
        }
        .await;
        self.for_caller(user_id, result).await
    }

    /// Only the owner deletes a post; its comments, reactions and
    /// notifications go with it.
    pub async fn delete_post(&self, user_id: &UserId, id: PostId) -> Result<(), SocialError> {
        let result: Result<(), SocialError> = async {
            self.check_post_owner(user_id, id).await?;
            if self.posts.delete(id).await? {
                Ok(())
            } else {
                Err(SocialError::PostNotFound(id))
            }
        }
        .await;
        self.for_caller(user_id, result).await
    }

    /// Settles a use case on the caller's own data: when it found nothing,
    /// or found that the thing is not theirs, and the caller's account no
    /// longer exists, the answer is [`SocialError::CallerGone`]. The extra
    /// lookup runs on such failures only, never on success.
    async fn for_caller<T>(
        &self,
        caller: &UserId,
        result: Result<T, SocialError>,
    ) -> Result<T, SocialError> {
        match result {
            Err(error) if error.may_mean_caller_gone() && !self.caller_exists(caller).await? => {
                Err(SocialError::CallerGone)
            }
            other => other,
        }
    }

    async fn caller_exists(&self, caller: &UserId) -> Result<bool, SocialError> {
        Ok(self.users.find(caller).await?.is_some())
    }

    async fn check_post_owner(&self, user_id: &UserId, id: PostId) -> Result<(), SocialError> {
        if self.post_owner(id).await? == *user_id {
            Ok(())
        } else {
            Err(SocialError::Forbidden)
        }
    }

    async fn post_owner(&self, id: PostId) -> Result<UserId, SocialError> {
        self.posts
            .owner_of(id)
            .await?
            .ok_or(SocialError::PostNotFound(id))
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
        let rows = self
            .posts
            .list_by_owner(user_id, page, viewer)
            .await?
            .ok_or_else(|| SocialError::UserNotFound(user_id.to_string()))?;
        Ok(Page::cut(rows, page, |post| post.id.get()))
    }

    /// The caller's own posts, newest first.
    pub async fn my_timeline(
        &self,
        caller: &UserId,
        page: PageRequest,
    ) -> Result<Page<PostView>, SocialError> {
        let result = self.timeline(caller, page, Some(caller.clone())).await;
        self.for_caller(caller, result).await
    }

    /// Comments on a post notify its owner, unless they wrote it.
    pub async fn create_comment(
        &self,
        user_id: &UserId,
        post_id: PostId,
        content: CommentContent,
    ) -> Result<CommentView, SocialError> {
        let result: Result<CommentView, SocialError> = async {
            let owner = self.post_owner(post_id).await?;
            let notify = (owner != *user_id).then_some(owner);
            match self
                .comments
                .create(NewComment {
                    post_id,
                    author_id: user_id.clone(),
                    content,
                    notify,
                })
                .await?
            {
                CommentCreation::Created(comment) => Ok(comment),
                CommentCreation::PostGone => Err(SocialError::PostNotFound(post_id)),
            }
        }
        .await;
        self.for_caller(user_id, result).await
    }

    /// A post's comments, oldest first.
    pub async fn comments(
        &self,
        post_id: PostId,
        page: PageRequest,
        viewer: Option<UserId>,
    ) -> Result<Page<CommentView>, SocialError> {
        let rows = self
            .comments
            .list(post_id, page, viewer)
            .await?
            .ok_or(SocialError::PostNotFound(post_id))?;
        Ok(Page::cut(rows, page, |comment| comment.id.get()))
    }

    /// Only its author edits a comment (not the post's owner).
    pub async fn update_comment(
        &self,
        user_id: &UserId,
        id: CommentId,
        content: CommentContent,
    ) -> Result<CommentView, SocialError> {
        let result: Result<CommentView, SocialError> = async {
            let owners = self
                .comments
                .owners(id)
                .await?
                .ok_or(SocialError::CommentNotFound(id))?;
            if owners.author_id != *user_id {
                return Err(SocialError::Forbidden);
            }
            self.comments
                .update(id, content, user_id)
                .await?
                .ok_or(SocialError::CommentNotFound(id))
        }
        .await;
        self.for_caller(user_id, result).await
    }

    /// Its author or the post's owner deletes a comment.
    pub async fn delete_comment(&self, user_id: &UserId, id: CommentId) -> Result<(), SocialError> {
        let result: Result<(), SocialError> = async {
            let owners = self
                .comments
                .owners(id)
                .await?
                .ok_or(SocialError::CommentNotFound(id))?;
            if owners.author_id != *user_id && owners.post_owner_id != *user_id {
                return Err(SocialError::Forbidden);
            }
            if self.comments.delete(id).await? {
                Ok(())
            } else {
                Err(SocialError::CommentNotFound(id))
            }
        }
        .await;
        self.for_caller(user_id, result).await
    }

    /// A first reaction notifies the post's owner, unless they reacted.
    pub async fn react_to_post(
        &self,
        user_id: &UserId,
        post_id: PostId,
        kind: ReactionKind,
    ) -> Result<ReactionChange, SocialError> {
        let result: Result<ReactionChange, SocialError> = async {
            let owner = self.post_owner(post_id).await?;
            let notify = (owner != *user_id).then_some(owner);
            self.reactions
                .put_on_post(PostReaction {
                    post_id,
                    user_id: user_id.clone(),
                    kind,
                    notify,
                })
                .await?
                .ok_or(SocialError::PostNotFound(post_id))
        }
        .await;
        self.for_caller(user_id, result).await
    }

    pub async fn withdraw_post_reaction(
        &self,
        user_id: &UserId,
        post_id: PostId,
    ) -> Result<(), SocialError> {
        let result: Result<(), SocialError> = async {
            self.post_owner(post_id).await?;
            if self.reactions.delete_on_post(post_id, user_id).await? {
                Ok(())
            } else {
                Err(SocialError::ReactionNotFound(format!("post {post_id}")))
            }
        }
        .await;
        self.for_caller(user_id, result).await
    }

    pub async fn react_to_comment(
        &self,
        user_id: &UserId,
        comment_id: CommentId,
        kind: ReactionKind,
    ) -> Result<ReactionChange, SocialError> {
        let result: Result<ReactionChange, SocialError> = async {
            self.reactions
                .put_on_comment(comment_id, user_id, kind)
                .await?
                .ok_or(SocialError::CommentNotFound(comment_id))
        }
        .await;
        self.for_caller(user_id, result).await
    }

    pub async fn withdraw_comment_reaction(
        &self,
        user_id: &UserId,
        comment_id: CommentId,
    ) -> Result<(), SocialError> {
        let result: Result<(), SocialError> = async {
            if !self.comments.exists(comment_id).await? {
                return Err(SocialError::CommentNotFound(comment_id));
            }
            if self
                .reactions
                .delete_on_comment(comment_id, user_id)
                .await?
            {
                Ok(())
            } else {
                Err(SocialError::ReactionNotFound(format!(
                    "comment {comment_id}"
                )))
            }
        }
        .await;
        self.for_caller(user_id, result).await
    }

    /// The caller's notifications, newest first, with the unread count.
    pub async fn notifications(
        &self,
        user_id: &UserId,
        unread_only: bool,
        page: PageRequest,
    ) -> Result<NotificationPage, SocialError> {
        let listing = self
            .notifications
            .list(user_id, unread_only, page)
            .await?
            .ok_or(SocialError::CallerGone)?;
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
        let result: Result<(), SocialError> = async {
            if self.notifications.mark_read(user_id, id).await? {
                Ok(())
            } else {
                Err(SocialError::NotificationNotFound(id))
            }
        }
        .await;
        self.for_caller(user_id, result).await
    }

    /// Nothing to mark is fine, unless the caller's account is gone.
    pub async fn mark_all_notifications_read(&self, user_id: &UserId) -> Result<(), SocialError> {
        if self.notifications.mark_all_read(user_id).await? == 0
            && !self.caller_exists(user_id).await?
        {
            return Err(SocialError::CallerGone);
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests;
