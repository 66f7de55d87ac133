//! Safe retries: what a keyed create answers for each thing the
//! idempotency repository finds under the key, and that a missing post
//! answers as it does without a key.

use std::sync::Arc;

use minifb_domain::IdempotencyKey;

use super::{POST, comment_content, id, post_content};
use crate::social::ports::{
    CommentCreation, Keyed, KeyedRequest, Recorded, RecordedAnswer, Recorder,
};
use crate::social::{Created, SocialError};
use crate::testing::SocialPorts;

const FINGERPRINT: &str = "POST /posts/7/comments: same body";

fn request(user: &str) -> KeyedRequest {
    KeyedRequest {
        user_id: id(user),
        key: IdempotencyKey::parse(b"retry-1").unwrap(),
        fingerprint: FINGERPRINT.into(),
    }
}

/// The answer a create with id `id` was recorded with.
fn answer(id: i64) -> RecordedAnswer {
    RecordedAnswer {
        status: 201,
        body: format!(r#"{{"id":{id}}}"#),
    }
}

fn first_answer() -> RecordedAnswer {
    answer(5)
}

fn recorded(fingerprint: &str) -> Recorded {
    Recorded {
        fingerprint: fingerprint.into(),
        answer: first_answer(),
    }
}

/// The recorder the HTTP side hands over; the repository is the one that
/// calls it, so the use case must pass this very one on.
fn recorder<T>() -> Recorder<T> {
    Arc::new(|_: &T| Ok(first_answer()))
}

/// Alice's keyed post "hello", as the service answers it.
async fn keyed_post(ports: SocialPorts) -> Result<Created, SocialError> {
    ports
        .into_service()
        .create_post_once(request("Alice"), post_content("hello"), recorder())
        .await
}

/// `user`'s keyed comment "hi" on [`POST`], as the service answers it.
async fn keyed_comment(ports: SocialPorts, user: &str) -> Result<Created, SocialError> {
    ports
        .into_service()
        .create_comment_once(request(user), POST, comment_content("hi"), recorder())
        .await
}

impl SocialPorts {
    /// The repository answers one keyed post with `found`.
    fn keyed_post_finds(&mut self, found: Keyed<RecordedAnswer>) {
        let create = self.retries.expect_create_post().times(1);
        create.return_once(move |_, _, _| Ok(found));
    }

    /// The repository answers one keyed comment with `found`.
    fn keyed_comment_finds(&mut self, found: Keyed<CommentCreation<RecordedAnswer>>) {
        let create = self.retries.expect_create_comment().times(1);
        create.return_once(move |_, _, _| Ok(found));
    }
}

/// Bob1's keyed comment on [`POST`] is a 404 for the post.
async fn assert_keyed_comment_finds_no_post(ports: SocialPorts) {
    let result = keyed_comment(ports, "Bob1").await;

    assert!(
        matches!(result, Err(SocialError::PostNotFound(POST))),
        "{result:?}"
    );
}

#[tokio::test]
async fn a_new_key_creates_the_post_and_answers_what_was_recorded() {
    let mut ports = SocialPorts::default();
    let record = recorder();
    let handed_over = Arc::clone(&record);
    ports
        .retries
        .expect_create_post()
        .withf(move |request, content, record| {
            *request == self::request("Alice")
                && content.as_ref() == "hello"
                && Arc::ptr_eq(record, &handed_over)
        })
        .times(1)
        .returning(|_, _, _| Ok(Keyed::Ran(answer(6))));

    let result = ports
        .into_service()
        .create_post_once(request("Alice"), post_content("hello"), record)
        .await;

    assert_eq!(result.unwrap(), Created::New(answer(6)));
}

/// One row per thing the repository can find under a key that is taken or
/// busy: the answer a repeat of a post gets.
#[tokio::test]
async fn a_repeat_is_replayed_refused_or_told_to_wait() {
    let cases = [
        (
            Keyed::Taken(recorded(FINGERPRINT)),
            Ok(Created::Replayed(first_answer())),
        ),
        (
            Keyed::Taken(recorded("POST /posts: another body")),
            Err("KeyReused"),
        ),
        (Keyed::InProgress, Err("KeyInProgress")),
    ];
    for (found, expected) in cases {
        let mut ports = SocialPorts::default();
        ports.keyed_post_finds(found.clone());

        let result = keyed_post(ports).await;

        match (result, expected) {
            (Ok(created), Ok(expected)) => assert_eq!(created, expected, "{found:?}"),
            (Err(error), Err(expected)) => {
                assert_eq!(format!("{error:?}"), expected, "{found:?}");
            }
            (result, expected) => panic!("{found:?}: {result:?}, expected {expected:?}"),
        }
    }
}

#[tokio::test]
async fn a_keyed_comment_is_made_in_one_call_that_also_takes_the_key() {
    let mut ports = SocialPorts::default();
    ports
        .retries
        .expect_create_comment()
        .withf(|request, comment, _| {
            *request == self::request("Bob1")
                && comment.post_id == POST
                && comment.author_id == id("Bob1")
                && comment.content.as_ref() == "hi"
        })
        .times(1)
        .returning(|_, _, _| Ok(Keyed::Ran(CommentCreation::Created(answer(11)))));

    let result = keyed_comment(ports, "Bob1").await;

    assert_eq!(result.unwrap(), Created::New(answer(11)));
}

#[tokio::test]
async fn a_retry_after_the_post_was_deleted_still_gets_its_first_answer() {
    let mut ports = SocialPorts::default();
    // The repository reads the key before it writes to the post.
    ports.keyed_comment_finds(Keyed::Taken(recorded(FINGERPRINT)));

    let result = keyed_comment(ports, "Bob1").await;

    assert_eq!(result.unwrap(), Created::Replayed(first_answer()));
}

#[tokio::test]
async fn a_keyed_comment_on_a_missing_post_is_404_and_keeps_nothing() {
    let mut ports = SocialPorts::default();
    ports.callers_exist(true);
    ports.keyed_comment_finds(Keyed::Ran(CommentCreation::PostGone));

    assert_keyed_comment_finds_no_post(ports).await;
}

#[tokio::test]
async fn a_keyed_comment_with_a_key_in_use_is_refused_or_waits() {
    for (found, expected) in [
        (
            Keyed::Taken(recorded("POST /posts/8/comments: x")),
            "KeyReused",
        ),
        (Keyed::InProgress, "KeyInProgress"),
    ] {
        let mut ports = SocialPorts::default();
        ports.keyed_comment_finds(found.clone());

        let result = keyed_comment(ports, "Bob1").await;

        assert_eq!(format!("{:?}", result.unwrap_err()), expected, "{found:?}");
    }
}
