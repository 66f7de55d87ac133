//! The client address behind a trusted proxy (`MINIFB_TRUSTED_PROXIES`),
//! seen through the per-address sign-up limit: each forwarded client has a
//! budget of its own, and nobody else can choose theirs.

use minifb_tests::*;

/// A server allowing two sign-ups per address, trusting `proxies`.
async fn limited_server(proxies: &str) -> Option<TestApp> {
    TestApp::spawn_with(&[
        ("MINIFB_SIGNUP_LIMIT", "2"),
        ("MINIFB_TRUSTED_PROXIES", proxies),
    ])
    .await
}

/// A sign-up whose request carries `X-Forwarded-For: forwarded_for`.
async fn sign_up_as(app: &TestApp, forwarded_for: &str) -> Reply {
    let request = app
        .client
        .post(app.url("/auth/signup"))
        .header("x-forwarded-for", forwarded_for)
        .json(&sign_up_body(&unique_id("fwd")));
    app.send(request).await.labelled(forwarded_for)
}

#[tokio::test]
async fn clients_behind_a_trusted_proxy_have_budgets_of_their_own() {
    let Some(app) = limited_server("127.0.0.1").await else {
        return;
    };
    for client in ["192.0.2.1", "192.0.2.2", "2001:db8::1", "2001:db8::2"] {
        sign_up_as(&app, client).await.assert_status(201);
        sign_up_as(&app, client).await.assert_status(201);
        sign_up_as(&app, client).await.error(429);
    }
    // What a client claims left of the proxy's own entry changes nothing.
    sign_up_as(&app, "203.0.113.9, 192.0.2.1").await.error(429);
}

#[tokio::test]
async fn a_forged_header_from_an_untrusted_peer_changes_nothing() {
    let Some(app) = limited_server("10.0.0.1").await else {
        return;
    };
    sign_up_as(&app, "192.0.2.1").await.assert_status(201);
    sign_up_as(&app, "192.0.2.2").await.assert_status(201);

    sign_up_as(&app, "192.0.2.3").await.error(429);
}

#[tokio::test]
async fn a_malformed_header_from_a_trusted_proxy_counts_for_the_proxy() {
    let Some(app) = limited_server("127.0.0.0/8, ::1").await else {
        return;
    };
    sign_up_as(&app, "192.0.2.1, not-an-address")
        .await
        .assert_status(201);
    sign_up_as(&app, "192.0.2.1,,192.0.2.2")
        .await
        .assert_status(201);

    sign_up_as(&app, "nonsense").await.error(429);
    sign_up_as(&app, "192.0.2.1").await.assert_status(201);
}
