//! The Reactions section of the contract, over HTTP. Posts and comments
//! take reactions alike, so each table runs on a post and on a comment
//! (`Reactable::BOTH`), the kind named in every assertion message.

use minifb_tests::{
    NEVER_AN_ID, Reactable, Target, TestApp, User, assert_timestamp, count_statuses, items, keys,
    no_reactions, reaction_counts,
};
use serde_json::{Value, json};

/// What a step of the life of a reaction does.
enum Step {
    React(i64),
    Withdraw,
}

/// What a step answers.
enum Answer {
    /// 201 with a new reaction of this type.
    New(i64),
    /// 200 with the very reaction answered before.
    Unchanged,
    /// 200 with the reaction changed to this type, and marked modified.
    Modified(i64),
    /// 204.
    Withdrawn,
    /// The contract's error.
    Refused(u16),
}

/// The step, by whom, what it does and answers, and then what the target
/// counts and what Alice and Bob see as `my_reaction`.
type Row<'a> = (
    &'static str,
    Option<&'a User>,
    Step,
    Answer,
    &'static [(u8, i64)],
    Option<i64>,
    Option<i64>,
);

/// Each row a step in the life of Bob's (and Alice's) reaction to Alice's
/// post or comment: what the step answers, what the target then counts,
/// and what Alice, Bob and nobody then see as `my_reaction`. A reaction to
/// a comment counts on the comment alone, not on its post.
#[tokio::test]
async fn a_reaction_is_new_then_unchanged_then_modified_until_withdrawn() {
    use Answer::{Modified, New, Refused, Unchanged, Withdrawn};
    use Step::{React, Withdraw};
    let (app, alice, bob, _) = TestApp::with_alices_post_and_bob().await;
    let (a, b) = (Some(&alice), Some(&bob));
    #[rustfmt::skip]
    let steps: [Row; 14] = [
        ("a new reaction is 201", b, React(1), New(1), &[(1, 1)], None, Some(1)),
        ("the same again is 200 and unchanged", b, React(1), Unchanged, &[(1, 1)], None, Some(1)),
        ("another type is 200 and modified", b, React(5), Modified(5), &[(5, 1)], None, Some(5)),
        ("changing it back stays modified", b, React(1), Modified(1), &[(1, 1)], None, Some(1)),
        ("the same again stays modified", b, React(1), Unchanged, &[(1, 1)], None, Some(1)),
        ("withdrawing none is 404", a, Withdraw, Refused(404), &[(1, 1)], None, Some(1)),
        ("withdrawing needs a token", None, Withdraw, Refused(401), &[(1, 1)], None, Some(1)),
        ("each user's reaction counts", a, React(1), New(1), &[(1, 2)], Some(1), Some(1)),
        ("a change moves one count", b, React(3), Modified(3), &[(1, 1), (3, 1)], Some(1), Some(3)),
        ("withdrawing is 204", b, Withdraw, Withdrawn, &[(1, 1)], Some(1), None),
        ("withdrawing again is 404", b, Withdraw, Refused(404), &[(1, 1)], Some(1), None),
        ("reacting after withdrawing is new again", b, React(4), New(4), &[(1, 1), (4, 1)], Some(1), Some(4)),
        ("the owner withdraws hers", a, Withdraw, Withdrawn, &[(4, 1)], None, Some(4)),
        ("the last one withdrawn leaves none", b, Withdraw, Withdrawn, &[], None, None),
    ];

    for kind in Reactable::BOTH {
        let target = app.target(kind, &alice).await;
        let mut last = Value::Null;
        for (step, by, does, answer, counts, alices, bobs) in &steps {
            let token = by.and_then(User::bearer);
            let reply = match does {
                React(reaction) => {
                    let body = json!({ "type": reaction });
                    app.put(&target.reaction_path(), token, body).await
                }
                Withdraw => app.withdraw_reaction(&target, token).await,
            };

            let label = format!("{kind:?}: {step}");
            let reply = reply.labelled(&label);
            match *answer {
                New(reaction) | Modified(reaction) => {
                    let new = matches!(answer, New(_));
                    let body = &reply.assert_status(if new { 201 } else { 200 }).body;
                    assert_eq!(keys(body), ["created_at", "modified", "type"], "{label}");
                    assert_eq!(body["type"], reaction, "{label}");
                    assert_eq!(body["modified"], !new, "{label}");
                    assert_timestamp(&body["created_at"]);
                    last = body.clone();
                }
                Unchanged => assert_eq!(reply.assert_status(200).body, last, "{label}"),
                Withdrawn => reply.assert_outcome(204),
                Refused(status) => reply.assert_outcome(status),
            }
            for (viewer, mine) in [(a, *alices), (b, *bobs), (None, None)] {
                let read = app.read_target(&target, viewer).await;
                let whose = format!("{label}, as {:?}", viewer.map(|user| &user.id));
                assert_eq!(read["reaction_counts"], reaction_counts(counts), "{whose}");
                assert_eq!(read["my_reaction"], json!(mine), "{whose}");
            }
            let post = app.read_post(target.post_id, None).await;
            let on_the_post = match kind {
                Reactable::Post => reaction_counts(counts),
                Reactable::Comment => no_reactions(),
            };
            assert_eq!(post["reaction_counts"], on_the_post, "{label}");
        }
    }
}

#[tokio::test]
async fn a_reaction_type_must_be_an_integer_from_1_to_5() {
    let (app, alice) = TestApp::with_user("typer").await;

    for kind in Reactable::BOTH {
        let target = app.target(kind, &alice).await;
        let path = target.reaction_path();

        for body in [
            json!({ "type": 0 }),
            json!({ "type": 6 }),
            json!({ "type": -1 }),
            json!({ "type": "1" }),
            json!({ "type": "2" }),
            json!({ "type": 1.5 }),
            json!({ "type": 2.5 }),
            json!({ "type": null }),
            json!({ "type": true }),
            json!({}),
            json!({ "type": 1, "emoji": "👍" }),
        ] {
            let reply = app.put(&path, alice.bearer(), body).await;

            assert!(!reply.error(400).is_empty(), "{}", reply.what_was_sent());
        }
        for out_of_range in [0, 6] {
            let reply = app.react(&alice, &target, out_of_range).await;
            reply.assert_error(400, "type");
        }
        let read = app.read_target(&target, Some(&alice)).await;
        assert_eq!(read["reaction_counts"], no_reactions(), "{kind:?}");
        assert_eq!(read["my_reaction"], Value::Null, "{kind:?}");
    }
}

#[tokio::test]
async fn every_type_from_1_to_5_is_accepted() {
    let (app, alice) = TestApp::with_user("alltypes").await;

    for kind in Reactable::BOTH {
        for reaction in 1..=5 {
            let target = app.target(kind, &alice).await;

            app.add_reaction(&alice, &target, reaction).await;

            let read = app.read_target(&target, Some(&alice)).await;
            let counted = &read["reaction_counts"][reaction.to_string()];
            assert_eq!(*counted, 1, "{kind:?} {reaction}");
            assert_eq!(read["my_reaction"], reaction, "{kind:?}");
        }
    }
}

#[tokio::test]
async fn reacting_to_a_missing_post_or_comment_is_404_after_the_body_is_checked() {
    let (app, alice) = TestApp::with_user("rmiss").await;
    let token = alice.bearer();

    for kind in Reactable::BOTH {
        let gone = app.target(kind, &alice).await;
        app.delete(&gone.path(), token).await.assert_status(204);

        for id in [gone.id.to_string(), NEVER_AN_ID.to_owned()] {
            let path = kind.reaction_path(&id);

            app.put(&path, None, json!({ "type": 1 })).await.error(401);
            app.put(&path, token, json!({ "type": 9 })).await.error(400);
            let reply = app.put(&path, token, json!({ "type": 1 })).await;
            reply.assert_error(404, &id);
            app.delete(&path, token).await.error(404);
        }
    }
}

#[tokio::test]
async fn concurrent_identical_reactions_create_exactly_one() {
    let (app, alice, bob, post_id) = TestApp::with_alices_post_and_bob().await;
    let target = Target::post(post_id);

    let replies = futures::future::join_all((0..24).map(|_| app.react(&bob, &target, 2))).await;

    assert_eq!(count_statuses(&replies), [(200, 23), (201, 1)].into());
    for reply in &replies {
        assert_eq!(reply.body["type"], 2, "{}", reply.text);
        assert_eq!(reply.body["modified"], false, "{}", reply.text);
    }
    let post = app.read_post(post_id, Some(&bob)).await;
    assert_eq!(post["reaction_counts"], reaction_counts(&[(2, 1)]));
    assert_eq!(post["my_reaction"], 2);
    let page = app.notifications(&alice, "?limit=100").await;
    let from_bob = items(&page)
        .iter()
        .filter(|n| {
            n["type"] == 2 && n["actor"]["id"] == bob.id.as_str() && n["post_id"] == post_id
        })
        .count();
    assert_eq!(from_bob, 1, "{page}");
    assert_eq!(page["unread_count"], 1);
}

#[tokio::test]
async fn concurrent_reactions_of_different_types_leave_exactly_one() {
    let (app, alice, bob, post_id) = TestApp::with_alices_post_and_bob().await;
    let target = Target::post(post_id);

    let replies =
        futures::future::join_all((0..20).map(|n| app.react(&bob, &target, n % 5 + 1))).await;

    let statuses = count_statuses(&replies);
    assert!(statuses.keys().all(|status| *status < 500), "{statuses:?}");
    assert_eq!(statuses.get(&201), Some(&1), "{statuses:?}");
    let post = app.read_post(post_id, Some(&bob)).await;
    let counts = post["reaction_counts"].as_object().unwrap();
    let total: i64 = counts.values().map(|n| n.as_i64().unwrap()).sum();
    assert_eq!(total, 1, "{post}");
    let mine = post["my_reaction"].as_i64().unwrap();
    assert_eq!(post["reaction_counts"][mine.to_string()], 1, "{post}");
    let page = app.notifications(&alice, "").await;
    assert_eq!(items(&page).len(), 1, "{page}");
}

#[tokio::test]
async fn a_reaction_type_written_as_a_whole_float_is_that_integer() {
    let (app, user) = TestApp::with_user("floaty").await;
    let target = app.target(Reactable::Post, &user).await;

    let created = app.react(&user, &target, 3.0).await;
    created.assert_status(201);
    assert_eq!(created.body["type"], 3);
    app.react(&user, &target, 3.5)
        .await
        .assert_error(400, "integer from 1 to 5");
}
