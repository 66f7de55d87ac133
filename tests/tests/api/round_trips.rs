//! Round trips to the database per write: each write route, sent a few
//! times on fresh targets, runs at most its budget of statements besides
//! `BEGIN` and `COMMIT` (counted by the harness through Diesel's
//! instrumentation). A route's count is the least of its trials, since
//! the server's background work may fall into any one of them.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use minifb_tests::{Reply, TestApp, id_of, items};
use serde_json::json;

/// Trials per route.
const TRIALS: usize = 3;

/// Every write route's budget: `BEGIN` and `COMMIT` aside, at most two
/// round trips to the database.
const WRITE_BUDGET: usize = 2;

/// A keyed create takes the key and records the answer the server
/// rendered from what it created: one trip more than the create itself.
const KEYED_BUDGET: usize = 3;

/// A refused write: the guarded write that changed nothing, the lookup
/// that tells 404 from 403, and the check that the caller still exists.
const REFUSAL_BUDGET: usize = 3;

/// A route's budget, from how its label names it: a keyed create, a
/// refusal (`: 403)`, `: 404)`), or any other write.
fn budget(route: &str) -> usize {
    if route.contains("(keyed)") {
        KEYED_BUDGET
    } else if route.contains(": 403)") || route.contains(": 404)") {
        REFUSAL_BUDGET
    } else {
        WRITE_BUDGET
    }
}

/// The fewest statements seen per route of `app`, with its budget and
/// those statements.
struct Budgets<'a> {
    app: &'a TestApp,
    routes: BTreeMap<&'static str, (usize, Vec<String>)>,
}

impl<'a> Budgets<'a> {
    fn new(app: &'a TestApp) -> Self {
        Self {
            app,
            routes: BTreeMap::new(),
        }
    }

    /// Sends a request through `reply`, checks its status, and keeps the
    /// statements it ran if they are the fewest yet for `route`; returns
    /// the reply.
    async fn measure(
        &mut self,
        route: &'static str,
        status: u16,
        reply: impl Future<Output = Reply>,
    ) -> Reply {
        let (reply, statements) = self.app.statements_during(reply).await;
        reply.assert_status(status);
        let entry = self
            .routes
            .entry(route)
            .or_insert_with(|| (budget(route), statements.clone()));
        if statements.len() < entry.1.len() {
            entry.1 = statements;
        }
        reply
    }

    /// Fails naming every route over its budget, with its statements.
    fn check(self) {
        let mut table = String::new();
        let mut over = Vec::new();
        for (route, (budget, statements)) in &self.routes {
            writeln!(table, "{route}: {} (budget {budget})", statements.len()).unwrap();
            if statements.len() > *budget {
                over.push(format!("{route}:\n  {}", statements.join("\n  ")));
            }
        }
        eprintln!("{table}");
        assert!(over.is_empty(), "over budget:\n{}", over.join("\n"));
    }
}

#[tokio::test]
async fn every_write_route_stays_within_its_round_trips() {
    let Some(app) = TestApp::spawn_recording().await else {
        return;
    };
    let alice = app.user("alice").await;
    let bob = app.user("bob").await;
    let mut budgets = Budgets::new(&app);
    for trial in 0..TRIALS {
        let body = json!({ "content": format!("post {trial}") });
        let reply = app.post("/posts", alice.bearer(), body.clone());
        budgets.measure("POST /posts", 201, reply).await;
        let post = app.post_by(&alice, "to change").await;
        let path = format!("/posts/{post}");
        let reply = app.patch(&path, alice.bearer(), json!({ "content": "changed" }));
        budgets.measure("PATCH /posts/{id}", 200, reply).await;

        let comments = format!("{path}/comments");
        let reply = app.post(&comments, bob.bearer(), json!({ "content": "hi" }));
        let comment = budgets
            .measure("POST /posts/{id}/comments", 201, reply)
            .await;
        let comment = id_of(&comment.body);
        let comment_path = format!("/comments/{comment}");
        let reply = app.patch(&comment_path, bob.bearer(), json!({ "content": "edited" }));
        budgets.measure("PATCH /comments/{id}", 200, reply).await;

        // A new reaction also notifies the post's owner: a statement of
        // its own, which a change does not run.
        let reaction = format!("{path}/reaction");
        for (route, kind, status) in [
            ("PUT /posts/{id}/reaction (new)", 1, 201),
            ("PUT /posts/{id}/reaction (changed)", 2, 200),
            ("PUT /posts/{id}/reaction (unchanged)", 2, 200),
        ] {
            let reply = app.put(&reaction, bob.bearer(), json!({ "type": kind }));
            budgets.measure(route, status, reply).await;
        }
        let reply = app.delete(&reaction, bob.bearer());
        budgets
            .measure("DELETE /posts/{id}/reaction", 204, reply)
            .await;
        let comment_reaction = format!("{comment_path}/reaction");
        let reply = app.put(&comment_reaction, alice.bearer(), json!({ "type": 3 }));
        budgets
            .measure("PUT /comments/{id}/reaction (new)", 201, reply)
            .await;
        let reply = app.delete(&comment_reaction, alice.bearer());
        budgets
            .measure("DELETE /comments/{id}/reaction", 204, reply)
            .await;

        let page = app.notifications(&alice, "?unread=true").await;
        let notification = id_of(&items(&page)[0]);
        let read = format!("/me/notifications/{notification}/read");
        let reply = app.post_without_body(&read, alice.bearer());
        budgets
            .measure("POST /me/notifications/{id}/read", 204, reply)
            .await;
        let reply = app.post_without_body("/me/notifications/read-all", alice.bearer());
        budgets
            .measure("POST /me/notifications/read-all", 204, reply)
            .await;
        let reply = app.post_without_body("/me/notifications/read-all", alice.bearer());
        budgets
            .measure("POST /me/notifications/read-all (none unread)", 204, reply)
            .await;

        let reply = app.delete(&comment_path, alice.bearer());
        budgets.measure("DELETE /comments/{id}", 204, reply).await;
        let reply = app.patch(&path, bob.bearer(), json!({ "content": "mine now" }));
        let route = "PATCH /posts/{id} (someone else's: 403)";
        budgets.measure(route, 403, reply).await;
        let reply = app.delete(&reaction, bob.bearer());
        let route = "DELETE /posts/{id}/reaction (none: 404)";
        budgets.measure(route, 404, reply).await;
        let reply = app.delete(&path, alice.bearer());
        budgets.measure("DELETE /posts/{id}", 204, reply).await;

        let key = format!("post-key-{trial}");
        let reply = app.post_keyed("/posts", &alice, key.as_bytes(), body.clone());
        budgets.measure("POST /posts (keyed)", 201, reply).await;
        let reply = app.post_keyed("/posts", &alice, key.as_bytes(), body);
        budgets
            .measure("POST /posts (keyed, replayed)", 201, reply)
            .await;
        let post = app.post_by(&alice, "to comment on").await;
        let key = format!("comment-key-{trial}");
        let comments = format!("/posts/{post}/comments");
        let reply = app.post_keyed(
            &comments,
            &bob,
            key.as_bytes(),
            json!({ "content": "once" }),
        );
        budgets
            .measure("POST /posts/{id}/comments (keyed)", 201, reply)
            .await;
    }
    budgets.check();
}
