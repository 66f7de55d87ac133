//! `LiveService` over the in-memory feed and store: each row a script of
//! commits, listener losses and the events the stream must show, so that
//! replay, live delivery, de-duplication and catching up read as tables.

use std::future::Future;
use std::sync::Arc;
use std::task::{Context, Poll, Waker};

use minifb_domain::{NotificationId, UserId};

use super::*;
use crate::testing::{MemoryFeed, MemoryNotifications, assert_matches, table};

/// Polls `future` once, then drops it: its output if it was ready.
fn now<F: Future>(future: F) -> Option<F::Output> {
    let mut future = std::pin::pin!(future);
    match future
        .as_mut()
        .poll(&mut Context::from_waker(Waker::noop()))
    {
        Poll::Ready(output) => Some(output),
        Poll::Pending => None,
    }
}

struct World {
    feed: Arc<MemoryFeed>,
    store: Arc<MemoryNotifications>,
    service: LiveService,
    alice: UserId,
    bob: UserId,
}

fn world() -> World {
    let feed = Arc::new(MemoryFeed::default());
    let store = Arc::new(MemoryNotifications::new(Arc::clone(&feed)));
    let alice = UserId::parse("alice").unwrap();
    let bob = UserId::parse("bobby").unwrap();
    store.add_user(&alice);
    store.add_user(&bob);
    let service = LiveService {
        notifications: store.clone(),
        feed: feed.clone(),
    };
    World {
        feed,
        store,
        service,
        alice,
        bob,
    }
}

/// What a stream showed, in short.
#[derive(Debug, Clone, PartialEq)]
enum Shown {
    /// `event: notification`: its id and the unread count.
    Note(i64, i64),
    /// `event: withdrawn`.
    Gone(i64, i64),
    /// `event: read`.
    Read(ReadIds, i64),
    /// The stream ended.
    End,
}

impl From<Option<LiveEvent>> for Shown {
    fn from(event: Option<LiveEvent>) -> Self {
        match event {
            Some(LiveEvent::Notification {
                notification,
                unread_count,
            }) => Self::Note(notification.id.get(), unread_count),
            Some(LiveEvent::Withdrawn { id, unread_count }) => Self::Gone(id.get(), unread_count),
            Some(LiveEvent::Read { ids, unread_count }) => Self::Read(ids, unread_count),
            None => Self::End,
        }
    }
}

/// One step of a script. Notification ids count from 1 over every user,
/// in commit order.
#[derive(Debug, Clone)]
enum Step {
    /// A notification of alice's is committed (and announced).
    Notify,
    /// `n` of them.
    NotifyMany(usize),
    /// One of bob's.
    NotifyBob,
    /// Alice's notification disappears (its cause withdrawn).
    Withdraw(i64),
    MarkRead(i64),
    MarkAllRead,
    /// The feed announces this notification again (late, or twice).
    Announce(i64),
    LoseListener,
    RegainListener,
    /// The server shuts the feed down.
    CloseFeed,
    /// Alice opens her stream, with this `Last-Event-ID`.
    Open(Option<i64>),
    /// The stream shows this next, at once.
    Shows(Shown),
    /// Notifications `from..=to` come next, with this unread count.
    NotesFromTo(i64, i64, i64),
    /// Nothing is waiting: the stream would wait for the feed.
    Quiet,
}

use Shown::*;
use Step::*;

async fn check(label: &str, script: Vec<Step>) {
    let world = world();
    let mut stream: Option<LiveStream> = None;
    for (n, step) in script.into_iter().enumerate() {
        let at = format!("{label}, step {n}: {step:?}");
        let mut next = || {
            let stream = stream
                .as_mut()
                .unwrap_or_else(|| panic!("{at}: open the stream first"));
            now(stream.next()).map(|next| Shown::from(next.unwrap()))
        };
        match step {
            Notify => {
                world.store.notify(&world.alice);
            }
            NotifyMany(count) => {
                for _ in 0..count {
                    world.store.notify(&world.alice);
                }
            }
            NotifyBob => {
                world.store.notify(&world.bob);
            }
            Withdraw(id) => world.store.withdraw(&world.alice, NotificationId::new(id)),
            MarkRead(id) => {
                let marked = world.store.mark_read(&world.alice, NotificationId::new(id));
                assert!(marked, "{at}");
            }
            MarkAllRead => {
                world.store.mark_all_read(&world.alice);
            }
            Announce(id) => world.feed.publish(
                &world.alice,
                NotificationChange::Created(vec![NotificationId::new(id)]),
            ),
            LoseListener => world.feed.lose_listener(),
            RegainListener => world.feed.regain_listener(),
            CloseFeed => world.feed.close(),
            Open(last) => {
                let opened = world
                    .service
                    .open(&world.alice, last.map(NotificationId::new))
                    .await;
                stream = Some(opened.unwrap_or_else(|error| panic!("{at}: {error}")));
            }
            Shows(expected) => assert_eq!(next(), Some(expected), "{at}"),
            NotesFromTo(from, to, unread) => {
                for id in from..=to {
                    assert_eq!(next(), Some(Note(id, unread)), "{at}: {id}");
                }
            }
            Quiet => assert_eq!(next(), None, "{at}"),
        }
    }
}

table!(check {
    replay_after_last_event_id_then_live_with_no_gap_or_duplicate: vec![
        NotifyMany(4), Open(Some(1)),
        NotesFromTo(2, 4, 4), Quiet,
        Notify, Shows(Note(5, 5)), Quiet,
    ];
    without_last_event_id_only_notifications_after_the_opening_come: vec![
        NotifyMany(2), Open(None), Quiet,
        Notify, Shows(Note(3, 3)), Quiet,
    ];
    a_last_event_id_of_zero_replays_everything: vec![
        NotifyMany(3), Open(Some(0)), NotesFromTo(1, 3, 3), Quiet,
    ];
    a_notification_committed_between_subscribing_and_the_replay_comes_once: vec![
        NotifyMany(2), Open(Some(0)),
        // Heard live and found by the replay too.
        Notify,
        NotesFromTo(1, 3, 3), Quiet,
        Notify, Shows(Note(4, 4)), Quiet,
    ];
    a_notification_committed_between_replay_pages_comes_once_in_order: vec![
        NotifyMany(150), Open(Some(0)),
        NotesFromTo(1, 100, 150),
        Notify,
        NotesFromTo(101, 151, 151), Quiet,
    ];
    a_replay_that_ends_on_a_full_page_goes_live: vec![
        NotifyMany(100), Open(Some(0)),
        NotesFromTo(1, 100, 100), Quiet,
        Notify, Shows(Note(101, 101)), Quiet,
    ];
    other_users_notifications_are_neither_replayed_nor_shown: vec![
        Notify, NotifyBob, Notify, Open(Some(0)),
        Shows(Note(1, 2)), Shows(Note(3, 2)), Quiet,
        NotifyBob, Quiet,
        Notify, Shows(Note(5, 3)), Quiet,
    ];
    reads_and_withdrawals_come_with_the_unread_count: vec![
        Open(None),
        Notify, Shows(Note(1, 1)),
        Notify, Shows(Note(2, 2)),
        MarkRead(1), Shows(Read(ReadIds::Some(vec![NotificationId::new(1)]), 1)),
        Withdraw(2), Shows(Gone(2, 0)),
        Notify, Shows(Note(3, 1)),
        MarkAllRead, Shows(Read(ReadIds::All, 0)),
        Quiet,
    ];
    a_notification_withdrawn_before_the_stream_read_it_shows_only_as_withdrawn: vec![
        Open(None), Notify, Withdraw(1), Shows(Gone(1, 0)), Quiet,
    ];
    a_withdrawn_notification_is_not_replayed: vec![
        NotifyMany(2), Withdraw(2), Open(Some(0)), Shows(Note(1, 1)), Quiet,
    ];
    what_was_committed_while_the_listener_was_lost_comes_when_it_is_back: vec![
        Open(None), Notify, Shows(Note(1, 1)),
        LoseListener, NotifyMany(2), Quiet,
        RegainListener, NotesFromTo(2, 3, 3), Quiet,
        // The same notification announced again is not shown twice.
        Announce(3), Quiet,
        Notify, Shows(Note(4, 4)), Quiet,
    ];
    a_listener_lost_with_nothing_missed_shows_nothing: vec![
        NotifyMany(2), Open(None), LoseListener, RegainListener, Quiet,
    ];
    a_late_announcement_of_a_replayed_notification_is_not_shown: vec![
        NotifyMany(3), Open(Some(1)), NotesFromTo(2, 3, 3),
        Announce(2), Announce(3), Quiet,
    ];
    the_stream_ends_when_the_feed_closes: vec![
        Open(None), Notify, CloseFeed, Shows(Note(1, 1)), Shows(End),
    ];
});

#[tokio::test]
async fn an_opening_for_a_removed_user_is_refused_and_holds_no_place() {
    let world = world();
    world.store.remove_user(&world.alice);
    let opened = world.service.open(&world.alice, None).await;
    assert_matches!(opened.err(), Some(LiveError::CallerGone));
    assert_eq!(world.service.open_streams(), 0);
}

#[tokio::test]
async fn a_store_failure_while_opening_is_the_stores_error_and_holds_no_place() {
    let world = world();
    let mut notifications = crate::live::MockLiveNotificationRepository::new();
    notifications
        .expect_latest_id()
        .returning(|_| Err(StoreError::Unavailable("connection refused".into())));
    let service = LiveService {
        notifications: Arc::new(notifications),
        feed: world.feed.clone(),
    };

    let opened = service.open(&world.alice, None).await;

    assert_matches!(
        opened.err(),
        Some(LiveError::Subscribe(SubscribeError::Store(
            StoreError::Unavailable(_)
        )))
    );
    assert_eq!(service.open_streams(), 0);
}

#[tokio::test]
async fn a_sixth_stream_of_a_user_is_refused_and_a_closed_one_frees_its_place() {
    let world = world();
    let mut streams = Vec::new();
    for _ in 0..5 {
        streams.push(world.service.open(&world.alice, None).await.unwrap());
    }
    let sixth = world.service.open(&world.alice, None).await;
    assert_matches!(
        sixth.err(),
        Some(LiveError::Subscribe(SubscribeError::TooManyForUser))
    );
    assert!(world.service.open(&world.bob, None).await.is_ok());
    drop(streams.pop());
    assert!(world.service.open(&world.alice, None).await.is_ok());
}

/// Every point where opening a stream waits, with the `Last-Event-ID`
/// that makes the opening pass it.
const OPENING_WAITS: [(&str, Option<i64>); 4] = [
    ("subscribe", None),
    ("subscribe", Some(0)),
    ("latest_id", None),
    ("latest_id", Some(0)),
];

#[tokio::test]
async fn an_opening_dropped_at_any_point_where_it_waits_holds_no_place() {
    for (point, last_event_id) in OPENING_WAITS {
        let world = world();
        let holds = if point == "subscribe" {
            &world.feed.holds
        } else {
            &world.store.holds
        };
        for _ in 0..6 {
            holds.hold(point);
            let opening = world
                .service
                .open(&world.alice, last_event_id.map(NotificationId::new));
            assert!(now(opening).is_none(), "{point}: the opening waits");
            assert_eq!(world.service.open_streams(), 0, "{point}: dropped");
            holds.release(point);
        }
        assert_eq!(holds.reached(point), 6, "{point}: every opening got there");
        let mut streams = Vec::new();
        for _ in 0..5 {
            let opened = world.service.open(&world.alice, None).await;
            streams.push(opened.unwrap_or_else(|error| panic!("{point}: {error}")));
        }
        assert_eq!(world.service.open_streams(), 5, "{point}");
    }
}

#[tokio::test]
async fn a_stream_dropped_while_it_reads_gives_its_place_back() {
    // Where the next event waits: the replay's page, a live notification,
    // a read's unread count.
    for point in ["after", "by_ids", "unread_count"] {
        let world = world();
        let last_event_id = (point == "after").then_some(NotificationId::new(0));
        let mut stream = world
            .service
            .open(&world.alice, last_event_id)
            .await
            .unwrap();
        world.store.notify(&world.alice);
        if point == "unread_count" {
            assert_matches!(now(stream.next()), Some(Ok(Some(_))), "{point}");
            world.store.mark_all_read(&world.alice);
        }
        world.store.holds.hold(point);
        assert!(now(stream.next()).is_none(), "{point}: the stream waits");
        assert_eq!(world.store.holds.reached(point), 1, "{point}");
        drop(stream);
        assert_eq!(world.service.open_streams(), 0, "{point}");
    }
}
