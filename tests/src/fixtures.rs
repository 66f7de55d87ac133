//! The scenes tests are arranged with: posts, comments, reactions and
//! notifications, and the routes that take content.

use std::fmt::Display;
use std::time::{Duration, Instant};

use reqwest::Method;
use serde::Serialize;
use serde_json::{Value, json};

use crate::app::TestApp;
use crate::bodies::{id_of, items};
use crate::requests::Reply;
use crate::users::{User, token_of};

/// Posts and comments.
impl TestApp {
    /// The usual scene of a test: a server, Alice with a post, and Bob, who
    /// comes by.
    /// `let (app, alice, bob, post_id) = TestApp::with_alices_post_and_bob().await;`
    pub async fn with_alices_post_and_bob() -> (Self, User, User, i64) {
        let app = Self::spawn().await;
        let alice = app.user("alice").await;
        let bob = app.user("bob").await;
        let post_id = app.post_by(&alice, "alice's post").await;
        (app, alice, bob, post_id)
    }

    /// Creates a post as `user`, asserting 201, and returns it as answered.
    pub async fn new_post(&self, user: &User, content: &str) -> Value {
        let body = json!({ "content": content });
        let reply = self.post("/posts", user.bearer(), body).await;
        reply.assert_status(201);
        reply.body
    }

    /// Creates a post as `user` and returns its id.
    pub async fn post_by(&self, user: &User, content: &str) -> i64 {
        id_of(&self.new_post(user, content).await)
    }

    /// Creates `n` posts as `user`, one after another, and returns their
    /// ids oldest first.
    pub async fn posts_by(&self, user: &User, n: usize) -> Vec<i64> {
        let mut ids = Vec::with_capacity(n);
        for i in 0..n {
            ids.push(self.post_by(user, &format!("post #{i}")).await);
        }
        ids
    }

    /// The id of a post that `user` created and deleted.
    pub async fn deleted_post(&self, user: &User) -> i64 {
        let id = self.post_by(user, "soon gone").await;
        let path = format!("/posts/{id}");
        self.delete(&path, user.bearer()).await.assert_status(204);
        id
    }

    /// A post as `viewer` (or nobody) reads it, asserting 200.
    pub async fn read_post(&self, id: i64, viewer: Option<&User>) -> Value {
        let reply = self.get(&format!("/posts/{id}"), token_of(viewer)).await;
        reply.assert_status(200);
        reply.body
    }

    /// Comments on `post_id` as `user`, asserting 201, and returns the
    /// comment as answered.
    pub async fn new_comment(&self, post_id: i64, user: &User, content: &str) -> Value {
        let path = format!("/posts/{post_id}/comments");
        let reply = self
            .post(&path, user.bearer(), json!({ "content": content }))
            .await;
        reply.assert_status(201);
        reply.body
    }

    /// Comments on `post_id` as `user` and returns the comment's id.
    pub async fn comment_on(&self, post_id: i64, user: &User, content: &str) -> i64 {
        id_of(&self.new_comment(post_id, user, content).await)
    }

    /// The first page of a post's comments (default limit) as `viewer`
    /// (or nobody) reads it, asserting 200.
    pub async fn comments(&self, post_id: i64, viewer: Option<&User>) -> Value {
        let path = format!("/posts/{post_id}/comments");
        let reply = self.get(&path, token_of(viewer)).await;
        reply.assert_status(200);
        reply.body
    }

    /// One comment as `viewer` (or nobody) finds it listed on its post.
    pub async fn read_comment(&self, post_id: i64, id: i64, viewer: Option<&User>) -> Value {
        let path = format!("/posts/{post_id}/comments?limit=100");
        let reply = self.get(&path, token_of(viewer)).await;
        reply.assert_status(200);
        items(&reply.body)
            .iter()
            .find(|comment| comment["id"] == id)
            .unwrap_or_else(|| panic!("comment {id} is listed: {}", reply.text))
            .clone()
    }

    /// Replaces the content of the post or comment at `path` as `user`.
    pub async fn edit(&self, user: &User, path: &str, content: &str) -> Reply {
        let body = json!({ "content": content });
        self.patch(path, user.bearer(), body).await
    }

    pub async fn delete_comment(&self, id: i64, token: Option<&str>) -> Reply {
        self.delete(&format!("/comments/{id}"), token).await
    }

    /// A post's `comment_count`.
    pub async fn comment_count(&self, post_id: i64) -> Value {
        self.read_post(post_id, None).await["comment_count"].clone()
    }
}

/// A route that takes `{"content": …}`: creating or editing a post or a
/// comment.
pub struct ContentRoute {
    pub label: &'static str,
    pub method: Method,
    pub path: String,
    /// The most characters it takes.
    pub max: usize,
    /// A field it does not take, and a value for it.
    pub unknown: (&'static str, Value),
}

impl ContentRoute {
    /// Sends `body` as `user`; the reply is labelled with the route.
    pub async fn send(&self, app: &TestApp, user: &User, body: Value) -> Reply {
        let reply = app
            .request(self.method.clone(), &self.path, user.bearer(), Some(body))
            .await;
        reply.labelled(self.label)
    }
}

/// The four routes that take content: creating a post, editing post
/// `post_id`, commenting on it, editing comment `comment_id`.
pub fn content_routes(post_id: i64, comment_id: i64) -> [ContentRoute; 4] {
    let (post, comment) = (
        format!("/posts/{post_id}"),
        format!("/comments/{comment_id}"),
    );
    [
        (
            "creating a post",
            Method::POST,
            "/posts".to_owned(),
            3000,
            "title",
            json!("x"),
        ),
        (
            "editing a post",
            Method::PATCH,
            post.clone(),
            3000,
            "author",
            json!("mallory"),
        ),
        (
            "commenting",
            Method::POST,
            format!("{post}/comments"),
            1000,
            "post_id",
            json!(post_id),
        ),
        (
            "editing a comment",
            Method::PATCH,
            comment,
            1000,
            "modified",
            json!(false),
        ),
    ]
    .map(|(label, method, path, max, field, value)| ContentRoute {
        label,
        method,
        path,
        max,
        unknown: (field, value),
    })
}

/// What reactions are put on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reactable {
    Post,
    Comment,
}

/// A post or a comment to react to.
#[derive(Debug, Clone, Copy)]
pub struct Target {
    pub kind: Reactable,
    /// The post, or the post the comment is on.
    pub post_id: i64,
    /// The post's or the comment's id.
    pub id: i64,
}

impl Reactable {
    /// Both: the tables of the reaction tests run on a post and a comment.
    pub const BOTH: [Self; 2] = [Self::Post, Self::Comment];

    /// `/posts/{id}` or `/comments/{id}`.
    pub fn path(self, id: impl Display) -> String {
        match self {
            Self::Post => format!("/posts/{id}"),
            Self::Comment => format!("/comments/{id}"),
        }
    }

    /// Where reactions to the post or comment `id` are put and withdrawn.
    pub fn reaction_path(self, id: impl Display) -> String {
        format!("{}/reaction", self.path(id))
    }
}

impl Target {
    pub fn post(id: i64) -> Self {
        Self {
            kind: Reactable::Post,
            post_id: id,
            id,
        }
    }

    pub fn comment(post_id: i64, id: i64) -> Self {
        Self {
            kind: Reactable::Comment,
            post_id,
            id,
        }
    }

    /// `/posts/{id}` or `/comments/{id}`.
    pub fn path(&self) -> String {
        self.kind.path(self.id)
    }

    /// Where reactions to it are put and withdrawn.
    pub fn reaction_path(&self) -> String {
        self.kind.reaction_path(self.id)
    }
}

/// Reactions and notifications.
impl TestApp {
    /// A fresh post of `owner`, or a fresh comment of `owner` on a fresh
    /// post of theirs.
    pub async fn target(&self, kind: Reactable, owner: &User) -> Target {
        let post_id = self.post_by(owner, "react to me").await;
        match kind {
            Reactable::Post => Target::post(post_id),
            Reactable::Comment => {
                let id = self.comment_on(post_id, owner, "react to me too").await;
                Target::comment(post_id, id)
            }
        }
    }

    /// A target as `viewer` (or nobody) reads it: the post, or the comment
    /// as its post lists it.
    pub async fn read_target(&self, target: &Target, viewer: Option<&User>) -> Value {
        match target.kind {
            Reactable::Post => self.read_post(target.id, viewer).await,
            Reactable::Comment => self.read_comment(target.post_id, target.id, viewer).await,
        }
    }

    /// Puts `user`'s reaction `{"type": kind}` on `target`.
    pub async fn react(&self, user: &User, target: &Target, kind: impl Serialize) -> Reply {
        let body = json!({ "type": kind });
        self.put(&target.reaction_path(), user.bearer(), body).await
    }

    /// Adds `user`'s reaction of `kind` to `target`, asserting it is new
    /// (201).
    pub async fn add_reaction(&self, user: &User, target: &Target, kind: impl Serialize) {
        self.react(user, target, kind).await.assert_status(201);
    }

    /// Withdraws the reaction of whoever `token` belongs to from `target`.
    pub async fn withdraw_reaction(&self, target: &Target, token: Option<&str>) -> Reply {
        self.delete(&target.reaction_path(), token).await
    }

    /// `user`'s notifications page; `query` starts with `?` or is empty.
    pub async fn notifications(&self, user: &User, query: &str) -> Value {
        let path = format!("/me/notifications{query}");
        let reply = self.get(&path, user.bearer()).await;
        reply.assert_status(200);
        reply.body
    }

    /// Marks notification `id` read.
    pub async fn mark_read(&self, id: impl Display, token: Option<&str>) -> Reply {
        let path = format!("/me/notifications/{id}/read");
        self.post_without_body(&path, token).await
    }

    pub async fn mark_all_read(&self, token: Option<&str>) -> Reply {
        self.post_without_body("/me/notifications/read-all", token)
            .await
    }
}

/// The back office.
impl TestApp {
    /// Polls `/admin/stats/server` until `done` holds (counts from other
    /// processes arrive with their next flush, within 10 s).
    pub async fn server_stats_until(&self, token: &str, done: impl Fn(&Value) -> bool) -> Value {
        let deadline = Instant::now() + Duration::from_secs(15);
        loop {
            let reply = self.get("/admin/stats/server", Some(token)).await;
            reply.assert_status(200);
            if done(&reply.body) {
                return reply.body;
            }
            assert!(
                Instant::now() < deadline,
                "condition never held: {}",
                reply.text
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }
}
