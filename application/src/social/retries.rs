//! Safe retries: creates named by an `Idempotency-Key`.
//!
//! The first request with a key is processed normally; a repeat of the
//! same request (same fingerprint) by the same user gets the first answer
//! again and creates nothing; the same key with another request is refused,
//! and so is a repeat while the first is still being processed. Only a
//! successful create is remembered: a request that failed created nothing,
//! so its repeat is judged afresh against the state of the moment.

use std::future::ready;

use minifb_domain::{CommentContent, PostContent, PostId};

use super::ports::{
    CommentCreation, CommentView, Keyed, KeyedRequest, NewComment, PostView, Recorded,
    RecordedAnswer, Recorder,
};
use super::{SocialError, SocialService};

/// What a keyed create answers: the recorded answer, to be sent as it was
/// stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Created {
    /// Made now, and recorded with this answer.
    New(RecordedAnswer),
    /// Made by an earlier request with the same key: its answer, again.
    Replayed(RecordedAnswer),
}

impl SocialService {
    /// [`SocialService::create_post`], at most once per key.
    pub async fn create_post_once(
        &self,
        request: KeyedRequest,
        content: PostContent,
        record: Recorder<PostView>,
    ) -> Result<Created, SocialError> {
        let fingerprint = request.fingerprint.clone();
        match self.retries.create_post(request, content, record).await? {
            Keyed::Ran(answer) => Ok(Created::New(answer)),
            Keyed::Taken(recorded) => replay(&fingerprint, recorded),
            Keyed::InProgress => Err(SocialError::KeyInProgress),
        }
    }

    /// [`SocialService::create_comment`], at most once per key. A retry
    /// gets its first answer even if the post has been deleted since: the
    /// key is looked at before the post.
    pub async fn create_comment_once(
        &self,
        request: KeyedRequest,
        post_id: PostId,
        content: CommentContent,
        record: Recorder<CommentView>,
    ) -> Result<Created, SocialError> {
        let user_id = request.user_id.clone();
        let fingerprint = request.fingerprint.clone();
        let comment = NewComment {
            post_id,
            author_id: user_id.clone(),
            content,
        };
        let result = match self
            .retries
            .create_comment(request, comment, record)
            .await?
        {
            Keyed::Ran(CommentCreation::Created(answer)) => Ok(Created::New(answer)),
            Keyed::Ran(CommentCreation::PostGone) => Err(SocialError::PostNotFound(post_id)),
            Keyed::Taken(recorded) => replay(&fingerprint, recorded),
            Keyed::InProgress => Err(SocialError::KeyInProgress),
        };
        self.for_caller(&user_id, ready(result)).await
    }
}

/// The recorded answer, if it answered this very request.
fn replay(fingerprint: &str, recorded: Recorded) -> Result<Created, SocialError> {
    if recorded.fingerprint == fingerprint {
        Ok(Created::Replayed(recorded.answer))
    } else {
        Err(SocialError::KeyReused)
    }
}
