//! Users: signing up, logging in, tokens, passwords, mail, and the creates
//! a user sends with an `Idempotency-Key`.

use std::time::{Duration, Instant};

use serde_json::{Value, json};

use crate::app::TestApp;
use crate::ids::unique_id;
use crate::requests::Reply;

/// The password of every [`TestApp::user`].
pub const PASSWORD: &str = "correct horse battery";

/// A password that is nobody's.
pub const WRONG_PASSWORD: &str = "wrong horse battery";

/// A signed-up user and their tokens.
#[derive(Debug, Clone)]
pub struct User {
    pub id: String,
    pub password: String,
    pub token: String,
    pub refresh_token: String,
}

impl User {
    /// The access token, as the request helpers take one.
    pub fn bearer(&self) -> Option<&str> {
        Some(&self.token)
    }

    /// The user as posts show their `author` and notifications their
    /// `actor`: [`TestApp::user`] signs up with the name "Tester" and no
    /// nickname.
    pub fn as_author(&self) -> Value {
        json!({ "id": self.id, "name": "Tester", "nickname": null })
    }
}

/// A sign-up body with every field set, the email in mixed case.
pub fn sign_up_body(id: &str) -> Value {
    json!({ "id": id, "password": PASSWORD, "name": "홍길동", "nickname": "gildong", "bio": "hi", "email": format!("{id}@Example.com") })
}

pub(crate) fn token_of(user: Option<&User>) -> Option<&str> {
    user.and_then(User::bearer)
}

/// Accounts: signing up, logging in, tokens, passwords, mail.
impl TestApp {
    pub async fn sign_up(&self, body: Value) -> Reply {
        self.post("/auth/signup", None, body).await
    }

    /// Signs up a new user with a unique id made of `prefix`.
    pub async fn sign_up_new(&self, prefix: &str) -> Reply {
        self.sign_up(sign_up_body(&unique_id(prefix))).await
    }

    /// Signs up a new user with a unique id and logs them in.
    pub async fn user(&self, prefix: &str) -> User {
        let id = unique_id(prefix);
        let reply = self
            .sign_up(json!({ "id": id, "password": PASSWORD, "name": "Tester", "email": format!("{id}@example.com") }))
            .await;
        reply.assert_status(201);
        let (token, refresh_token) = self.login(&id, PASSWORD).await;
        User {
            id,
            password: PASSWORD.to_owned(),
            token,
            refresh_token,
        }
    }

    /// A server and a user signed up on it.
    pub async fn with_user(prefix: &str) -> (Self, User) {
        let app = Self::spawn().await;
        let user = app.user(prefix).await;
        (app, user)
    }

    /// [`Self::with_user`] on a server this suite started, or `None` (the
    /// test skipped, saying so) against `MINIFB_URL`.
    pub async fn with_local_user(prefix: &str) -> Option<(Self, User)> {
        let app = Self::spawn_local().await?;
        let user = app.user(prefix).await;
        Some((app, user))
    }

    pub async fn try_login(&self, id: &str, password: &str) -> Reply {
        let body = json!({ "id": id, "password": password });
        self.post("/auth/login", None, body).await
    }

    /// Logs in and returns (access token, refresh token).
    pub async fn login(&self, id: &str, password: &str) -> (String, String) {
        let reply = self.try_login(id, password).await;
        reply.assert_status(200);
        (
            reply.body["access_token"].as_str().unwrap().to_owned(),
            reply.body["refresh_token"].as_str().unwrap().to_owned(),
        )
    }

    pub async fn refresh(&self, refresh_token: &str) -> Reply {
        let body = json!({ "refresh_token": refresh_token });
        self.post("/auth/refresh", None, body).await
    }

    pub async fn logout(&self, refresh_token: &str) -> Reply {
        let body = json!({ "refresh_token": refresh_token });
        self.post("/auth/logout", None, body).await
    }

    pub async fn change_password(&self, token: Option<&str>, current: &str, new: &str) -> Reply {
        let body = json!({ "current_password": current, "new_password": new });
        self.put("/me/password", token, body).await
    }

    /// Asks for a temporary password for `id` to be mailed to `email`.
    pub async fn forgot_password(&self, id: &str, email: &str) -> Reply {
        let body = json!({ "id": id, "email": email });
        self.post("/auth/temporary-password", None, body).await
    }

    /// The messages in the mail outbox addressed to `to`, oldest first.
    pub fn mails_to(&self, to: &str) -> Vec<Value> {
        let Some(path) = &self.outbox else {
            return Vec::new();
        };
        std::fs::read_to_string(path)
            .unwrap_or_default()
            .lines()
            .map(|line| serde_json::from_str::<Value>(line).unwrap())
            .filter(|mail| mail["to"] == to)
            .collect()
    }

    /// The latest mail to `to`. Mail is sent after the answer: this polls
    /// the outbox until it arrives, for 10 s at most.
    pub async fn wait_for_mail(&self, to: &str) -> Value {
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            if let Some(mail) = self.mails_to(to).pop() {
                return mail;
            }
            assert!(Instant::now() < deadline, "no mail to {to} within 10 s");
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    /// Asks for a temporary password for `user` (whose address is
    /// `<id>@example.com`) and reads it from the mail.
    pub async fn temporary_password(&self, user: &User) -> String {
        let address = format!("{}@example.com", user.id);
        let already = self.mails_to(&address).len();
        self.forgot_password(&user.id, &address)
            .await
            .assert_status(202);
        let deadline = Instant::now() + Duration::from_secs(10);
        while self.mails_to(&address).len() == already {
            assert!(
                Instant::now() < deadline,
                "no mail to {address} within 10 s"
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        let mail = self.mails_to(&address).pop().unwrap();
        mail["text"]
            .as_str()
            .unwrap()
            .split_whitespace()
            .find(|word| word.len() == 16 && word.chars().all(|c| c.is_ascii_alphanumeric()))
            .expect("the mail holds a 16-character password")
            .to_owned()
    }
}

/// Safe retries: creates sent with an `Idempotency-Key`.
impl TestApp {
    /// `POST path` with `body` as `user`, and `Idempotency-Key: key` (sent
    /// as raw bytes, so malformed keys can be sent too).
    pub async fn post_keyed(&self, path: &str, user: &User, key: &[u8], body: Value) -> Reply {
        let key = reqwest::header::HeaderValue::from_bytes(key).unwrap();
        let request = self
            .client
            .post(self.url(path))
            .bearer_auth(&user.token)
            .header("idempotency-key", key)
            .json(&body);
        self.send(request).await
    }
}
