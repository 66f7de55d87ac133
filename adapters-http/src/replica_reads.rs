//! The one place a request is told where its reads may come from.
//!
//! With read replicas configured, the handlers of the read routes the
//! contract lists run inside a [`ReadScope`] naming the signed-in reader
//! (if any), so that their reads may go to a replica that has replayed that
//! reader's writes; every other request reads from the primary. After a
//! write answered 2xx for a signed-in user, the user's write position is
//! recorded (one statement on the primary) before the answer leaves, so
//! that the user's later reads through any process show it. Without
//! replicas this layer does nothing at all.

use axum::extract::{MatchedPath, Request, State};
use axum::http::Method;
use axum::middleware::Next;
use axum::response::Response;
use minifb_application::consistency::ReadScope;
use minifb_domain::UserId;

use crate::AppState;
use crate::auth::bearer;

/// The route templates whose `GET` a replica may serve (API.md, "Read
/// replicas").
pub const REPLICA_READS: &[&str] = &[
    "/posts",
    "/posts/{id}",
    "/posts/{id}/comments",
    "/users/{id}",
    "/users/{id}/timeline",
    "/me/timeline",
    "/me/notifications",
    "/admin/stats/service",
];

/// Whether a request to `route` with `method` may read from a replica.
pub fn may_read_from_replica(method: &Method, route: Option<&str>) -> bool {
    (method == Method::GET || method == Method::HEAD)
        && route.is_some_and(|route| REPLICA_READS.contains(&route))
}

/// Whether an answer to `method` with this status is a write whose
/// position must be recorded.
fn is_answered_write(method: &Method, response: &Response) -> bool {
    matches!(
        *method,
        Method::POST | Method::PUT | Method::PATCH | Method::DELETE
    ) && response.status().is_success()
}

/// Enters the read scope of the read routes; records the position of a
/// signed-in user's answered write.
pub async fn route_reads(State(state): State<AppState>, request: Request, next: Next) -> Response {
    if !state.replicas.enabled() {
        return next.run(request).await;
    }
    let method = request.method().clone();
    let route = request
        .extensions()
        .get::<MatchedPath>()
        .map(|path| path.as_str().to_owned());
    let user = signed_in(&state, &request);
    if may_read_from_replica(&method, route.as_deref()) {
        let scope = ReadScope {
            reader: user.map(|user| user.key()),
        };
        return scope.enter(next.run(request)).await;
    }
    let response = next.run(request).await;
    if let Some(user) = user
        && is_answered_write(&method, &response)
        && let Err(error) = state.replicas.wrote(&user.key()).await
    {
        // The write stands; only its reads by this user may now come
        // from a replica that has not replayed it yet.
        metrics::counter!("db_write_positions_lost_total").increment(1);
        tracing::warn!(%error, "the writer's position was not recorded");
    }
    response
}

/// The user of a valid bearer token, if any (the handler still checks the
/// token and answers 401 itself).
fn signed_in(state: &AppState, request: &Request) -> Option<UserId> {
    let token = bearer(request.headers()).ok().flatten()?;
    state.jwt.verify(token)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_listed_reads_may_use_a_replica() {
        let cases = [
            (Method::GET, Some("/posts"), true),
            (Method::HEAD, Some("/posts/{id}"), true),
            (Method::GET, Some("/me/notifications"), true),
            (Method::GET, Some("/admin/stats/service"), true),
            (Method::GET, Some("/me"), false),
            (Method::GET, Some("/auth/id-availability"), false),
            (Method::GET, Some("/me/notifications/stream"), false),
            (Method::GET, Some("/admin/stats/server"), false),
            (Method::POST, Some("/posts"), false),
            (Method::GET, None, false),
        ];
        for (method, route, may) in cases {
            assert_eq!(
                may_read_from_replica(&method, route),
                may,
                "{method} {route:?}"
            );
        }
    }
}
