//! The authorization matrix: every operation of the OpenAPI document the
//! server serves, crossed with every kind of credential a client (or an
//! attacker) can send, against the status the contract requires.
//!
//! The routes come from the server's own document, so a new route cannot be
//! forgotten: one that this file cannot place (an unknown security scheme, a
//! path parameter it cannot fill, a user route without an expectation for
//! another user's token) fails the test until someone says who may call it.

use minifb_tests::{JWT_SECRET, PASSWORD, TestApp, User, tokens};
use reqwest::Method;
use serde_json::{Value, json};

/// What a request carries in `Authorization`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Credential {
    Missing,
    Malformed,
    Expired,
    SignedWithAnotherKey,
    AlgNone,
    AdminToken,
    RemovedUsersToken,
    /// Bob's valid token, on Alice's resources.
    AnotherUsersToken,
}

const CREDENTIALS: [Credential; 8] = [
    Credential::Missing,
    Credential::Malformed,
    Credential::Expired,
    Credential::SignedWithAnotherKey,
    Credential::AlgNone,
    Credential::AdminToken,
    Credential::RemovedUsersToken,
    Credential::AnotherUsersToken,
];

/// Who may call an operation, as its `security` in the document says.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Access {
    /// No `security`: the route reads no `Authorization` at all.
    Public,
    /// `[{}, {"user": []}]`: a token is optional, but one sent must be valid.
    OptionalUser,
    /// `[{"user": []}]`.
    User,
    /// `[{"admin": []}]`.
    Admin,
}

impl Access {
    fn of(operation: &Value) -> Self {
        let Some(security) = operation.get("security") else {
            return Self::Public;
        };
        let schemes: Vec<String> = security
            .as_array()
            .unwrap()
            .iter()
            .map(|requirement| {
                requirement
                    .as_object()
                    .unwrap()
                    .keys()
                    .cloned()
                    .collect::<Vec<_>>()
                    .join("+")
            })
            .collect();
        match schemes.iter().map(String::as_str).collect::<Vec<_>>()[..] {
            ["", "user"] => Self::OptionalUser,
            ["user"] => Self::User,
            ["admin"] => Self::Admin,
            _ => panic!("a security requirement this matrix does not know: {security}"),
        }
    }
}

/// The answer a cell of the matrix must get.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Expect {
    /// 401 with `WWW-Authenticate: Bearer`.
    NeedsToken,
    /// 401 with `WWW-Authenticate: Bearer error="invalid_token"`.
    InvalidToken,
    Status(u16),
}

/// The resources the matrix points at: Alice owns a post with her own
/// comment on it, and a notification (of Bob's comment); Bob is the other
/// user; Carol's account is removed after she logged in.
struct Fixture {
    alice: User,
    bob: User,
    carol: User,
    post: i64,
    comment: i64,
    notification: i64,
}

impl Fixture {
    async fn new(app: &TestApp) -> Self {
        let (alice, bob, carol) = (
            app.user("alice").await,
            app.user("bob").await,
            app.user("carol").await,
        );
        let post = app.post_by(&alice, "alice's post").await;
        let comment = app.comment_on(post, &alice, "alice's comment").await;
        app.comment_on(post, &bob, "bob's comment").await;
        let notifications = app.notifications(&alice, "").await;
        let notification = minifb_tests::item_ids(&notifications)[0];
        let removed = app
            .sql(&format!("DELETE FROM users WHERE id = '{}'", carol.id))
            .await;
        assert_eq!(removed, 1);
        Self {
            alice,
            bob,
            carol,
            post,
            comment,
            notification,
        }
    }

    /// `template` with its parameters filled in, or `None` for one this
    /// matrix cannot fill (which fails the test for a non-public route).
    fn path(&self, template: &str) -> Option<String> {
        let id = if template.starts_with("/posts/{id}") {
            self.post.to_string()
        } else if template.starts_with("/comments/{id}") {
            self.comment.to_string()
        } else if template.starts_with("/me/notifications/{id}") {
            self.notification.to_string()
        } else if template.starts_with("/users/{id}") {
            self.alice.id.clone()
        } else if template.contains('{') {
            return None;
        } else {
            return Some(template.to_owned());
        };
        Some(template.replace("{id}", &id))
    }

    /// The `Authorization` bearer token of `credential`.
    fn token(&self, credential: Credential, admin_token: &str) -> Option<String> {
        let sub = &self.alice.id;
        match credential {
            Credential::Missing => None,
            Credential::Malformed => Some("not.a-jwt".to_owned()),
            Credential::Expired => {
                let iat = tokens::now() - 3_600;
                let claims = json!({ "sub": sub, "iat": iat, "exp": iat + 900 });
                Some(tokens::signed(JWT_SECRET, &claims))
            }
            Credential::SignedWithAnotherKey => Some(tokens::signed(
                "another-key-0123456789abcdefghijklmnopqrstuv",
                &tokens::claims(sub, 600),
            )),
            Credential::AlgNone => Some(tokens::unsigned(&tokens::claims(sub, 600))),
            Credential::AdminToken => Some(admin_token.to_owned()),
            Credential::RemovedUsersToken => Some(self.carol.token.clone()),
            Credential::AnotherUsersToken => Some(self.bob.token.clone()),
        }
    }
}

/// A valid body for the operation, so that only the credential can make it
/// fail before the resource and permission checks.
fn body_for(method: &Method, template: &str) -> Option<Value> {
    let content = json!({ "content": "matrix" });
    match (method.as_str(), template) {
        ("PATCH", "/me") => Some(json!({ "nickname": "matrix" })),
        ("PUT", "/me/password") => Some(json!({
            "current_password": PASSWORD,
            "new_password": "another horse battery",
        })),
        ("PUT", _) if template.ends_with("/reaction") => Some(json!({ "type": 1 })),
        (
            "POST" | "PATCH",
            "/posts" | "/posts/{id}" | "/posts/{id}/comments" | "/comments/{id}",
        ) => Some(content),
        _ => None,
    }
}

/// What Bob's valid token gets on Alice's resources: his own data on the
/// `/me` routes, 403 on what only the author or owner may change, 404 for a
/// notification that is not his, and ordinary success for what anyone may
/// do (comment, react, create).
fn another_user_expectation(method: &Method, template: &str) -> Option<u16> {
    Some(match (method.as_str(), template) {
        ("GET", "/me" | "/me/timeline" | "/me/notifications" | "/me/notifications/stream")
        | ("PATCH", "/me") => 200,
        ("PUT", "/me/password") | ("POST", "/me/notifications/read-all") => 204,
        ("POST", "/me/notifications/{id}/read") => 404,
        ("POST", "/posts" | "/posts/{id}/comments") => 201,
        ("PATCH" | "DELETE", "/posts/{id}" | "/comments/{id}") => 403,
        ("PUT", "/posts/{id}/reaction" | "/comments/{id}/reaction") => 201,
        ("DELETE", "/posts/{id}/reaction" | "/comments/{id}/reaction") => 204,
        _ => return None,
    })
}

fn expectation(access: Access, credential: Credential, method: &Method, template: &str) -> Expect {
    use Credential as C;
    match (access, credential) {
        (Access::Public, _) => unreachable!("public routes are checked apart"),
        (_, C::Missing) if access != Access::OptionalUser => Expect::NeedsToken,
        (Access::OptionalUser, C::Missing | C::AnotherUsersToken | C::RemovedUsersToken) => {
            // A removed user's token reads nothing of its own on these
            // routes: it is well formed and signed, so the read goes on.
            Expect::Status(200)
        }
        (Access::Admin, C::AdminToken) => Expect::Status(200),
        (Access::User, C::AnotherUsersToken) => Expect::Status(
            another_user_expectation(method, template).unwrap_or_else(|| {
                panic!("{method} {template}: say what another user's token gets on it")
            }),
        ),
        _ => Expect::InvalidToken,
    }
}

/// Every credential on every operation of the document, and nothing of
/// Alice's changed by any of them.
#[tokio::test]
async fn every_route_answers_every_credential_as_the_contract_says() {
    let Some(app) = TestApp::spawn_local().await else {
        return;
    };
    let admin_token = app.admin_token.clone().unwrap();
    let fixture = Fixture::new(&app).await;
    let document = app.get("/openapi.json", None).await;
    document.assert_status(200);

    let mut operations = Vec::new();
    for (template, item) in document.body["paths"].as_object().unwrap() {
        for (method, operation) in item.as_object().unwrap() {
            let Ok(method) = method.to_uppercase().parse::<Method>() else {
                continue;
            };
            operations.push((method, template.clone(), Access::of(operation)));
        }
    }
    // Deletions last, so that Bob's withdrawals find his reactions and
    // nothing he may not delete was tried after something he may.
    operations.sort_by_key(|(method, _, _)| *method == Method::DELETE);
    let counted = |access| operations.iter().filter(|o| o.2 == access).count();
    assert!(counted(Access::User) >= 15 && counted(Access::Admin) >= 3);
    assert!(counted(Access::OptionalUser) >= 4 && counted(Access::Public) >= 8);

    for credential in CREDENTIALS {
        for (method, template, access) in &operations {
            let token = fixture.token(credential, &admin_token);
            let Some(path) = fixture.path(template) else {
                assert_eq!(
                    *access,
                    Access::Public,
                    "{method} {template}: fill its path"
                );
                continue;
            };
            if *access == Access::Public {
                check_public(&app, method, &path, token.as_deref()).await;
                continue;
            }
            if template.as_str() == "/me/notifications/stream" {
                // An open stream never ends: only its status is read.
                let mut request = app.client.get(app.url(&path));
                if let Some(token) = token.as_deref() {
                    request = request.bearer_auth(token);
                }
                let status = request.send().await.unwrap().status().as_u16();
                let expected = match expectation(*access, credential, method, template) {
                    Expect::NeedsToken | Expect::InvalidToken => 401,
                    Expect::Status(status) => status,
                };
                assert_eq!(status, expected, "GET {path} with {credential:?}");
                continue;
            }
            let body = body_for(method, template);
            let reply = app
                .request(method.clone(), &path, token.as_deref(), body)
                .await
                .labelled(format!("{credential:?}"));
            match expectation(*access, credential, method, template) {
                Expect::NeedsToken => reply.assert_needs_token(),
                Expect::InvalidToken => reply.assert_invalid_token(),
                Expect::Status(403) => reply.assert_forbidden(),
                Expect::Status(status) => reply.assert_outcome(status),
            }
        }
    }
    assert_alices_things_are_untouched(&app, &fixture).await;
}

/// A public route reads no `Authorization`: a GET answers the same with
/// any credential as with none. (Public POSTs, the `/auth` routes, take
/// their credentials in the body and have tests of their own.)
async fn check_public(app: &TestApp, method: &Method, path: &str, token: Option<&str>) {
    if *method != Method::GET {
        return;
    }
    let without = app.get(path, None).await;
    let with = app.get(path, token).await;
    assert_eq!(with.status, without.status, "{}", with.what_was_sent());
}

/// Bob's requests made his own things; none of the credentials changed
/// Alice's post, comment, notification or profile.
async fn assert_alices_things_are_untouched(app: &TestApp, fixture: &Fixture) {
    let post = app.read_post(fixture.post, None).await;
    assert_eq!(post["content"], "alice's post", "{post}");
    assert!(post["updated_at"].is_null(), "{post}");
    let comment = app.read_comment(fixture.post, fixture.comment, None).await;
    assert_eq!(comment["content"], "alice's comment", "{comment}");
    let me = app.get("/me", fixture.alice.bearer()).await;
    me.assert_status(200);
    assert!(me.body["nickname"].is_null(), "{}", me.text);
    // Still unread, beside the one of Bob's matrix comment; his reaction's
    // was withdrawn with the reaction.
    let unread = app.notifications(&fixture.alice, "?unread=true").await;
    let ids = minifb_tests::item_ids(&unread);
    assert_eq!(ids.len(), 2, "{unread}");
    assert_eq!(ids[1], fixture.notification, "{unread}");
    let bobs = app.get("/me", fixture.bob.bearer()).await;
    assert_eq!(bobs.body["nickname"], "matrix", "{}", bobs.text);
}
