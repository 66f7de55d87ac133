//! The read-routing layer over mocked ports: which requests may read from
//! a replica and as whom, and which writes record their writer's position.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use std::sync::{Arc, Mutex};

use axum::http::{Method, StatusCode};
use minifb_application::consistency::{MockReadReplicas, ReadScope};
use minifb_domain::UserKey;
use support::{Ports, call, call_as};

/// Replicas that are configured and expect `writes` recorded positions.
fn replicas(writes: usize, writers: Arc<Mutex<Vec<UserKey>>>) -> MockReadReplicas {
    let mut replicas = MockReadReplicas::new();
    replicas.expect_enabled().return_const(true);
    replicas
        .expect_wrote()
        .times(writes)
        .returning(move |writer| {
            writers.lock().unwrap().push(writer.clone());
            Ok(())
        });
    replicas
}

/// Ports whose list of posts records the read scope each call ran in.
fn post_lists_recording_their_scope() -> (Ports, Arc<Mutex<Vec<Option<ReadScope>>>>) {
    let scopes = Arc::new(Mutex::new(Vec::new()));
    let mut ports = Ports::default();
    let seen = Arc::clone(&scopes);
    ports.social.posts.expect_list().returning(move |_, _| {
        seen.lock().unwrap().push(ReadScope::current());
        Ok(Vec::new())
    });
    (ports, scopes)
}

#[tokio::test]
async fn a_listed_read_runs_in_a_scope_naming_its_signed_in_reader() {
    let (mut ports, scopes) = post_lists_recording_their_scope();
    ports.replicas = Some(replicas(0, Arc::default()));
    let app = ports.app();

    assert_eq!(
        call_as(&app, Method::GET, "/posts", "Alice").await.status,
        StatusCode::OK
    );
    assert_eq!(
        call(&app, Method::GET, "/posts").await.status,
        StatusCode::OK
    );

    let alice = ReadScope {
        reader: Some(UserKey::claimed("alice")),
    };
    let anonymous = ReadScope { reader: None };
    assert_eq!(*scopes.lock().unwrap(), [Some(alice), Some(anonymous)]);
}

#[tokio::test]
async fn reads_outside_the_list_have_no_scope() {
    let scopes = Arc::new(Mutex::new(Vec::new()));
    let mut ports = Ports::default();
    let seen = Arc::clone(&scopes);
    ports.accounts.users.expect_find().returning(move |_| {
        seen.lock().unwrap().push(ReadScope::current());
        Ok(None)
    });
    ports.replicas = Some(replicas(0, Arc::default()));
    let app = ports.app();

    call_as(&app, Method::GET, "/me", "alice").await;

    assert_eq!(*scopes.lock().unwrap(), [None]);
}

#[tokio::test]
async fn an_answered_write_records_its_writers_position_and_a_refused_one_does_not() {
    let writers = Arc::new(Mutex::new(Vec::new()));
    let mut ports = Ports::default();
    ports
        .social
        .notifications
        .expect_mark_all_read()
        .returning(|_| Ok(Some(3)));
    ports.replicas = Some(replicas(1, Arc::clone(&writers)));
    let app = ports.app();

    let answered = call_as(&app, Method::POST, "/me/notifications/read-all", "Alice").await;
    let anonymous = call(&app, Method::POST, "/me/notifications/read-all").await;
    let refused = call_as(&app, Method::DELETE, "/posts/abc", "alice").await;

    assert!(answered.status.is_success(), "{}", answered.body);
    assert_eq!(anonymous.status, StatusCode::UNAUTHORIZED);
    assert_eq!(refused.status, StatusCode::BAD_REQUEST);
    assert_eq!(*writers.lock().unwrap(), [UserKey::claimed("alice")]);
}

#[tokio::test]
async fn without_replicas_nothing_is_scoped_or_recorded() {
    let (ports, scopes) = post_lists_recording_their_scope();
    let app = ports.app();

    call_as(&app, Method::GET, "/posts", "alice").await;

    assert_eq!(*scopes.lock().unwrap(), [None]);
}
