//! Reading one's notifications: newest first, in pages, with the unread
//! count. (Who is notified of what is the comment and reaction
//! repositories' contract, which store the notification with the write.)

use mockall::predicate::eq;

use super::{NOTIFICATION, id, ids, notifications, page};
use crate::social::SocialError;
use crate::social::ports::{NotificationListing, PageRequest};
use crate::testing::{SocialPorts, assert_matches, table};

impl SocialPorts {
    /// Alice's notifications (only unread ones or all, as `unread_only`
    /// says), for `request`, are listed as `listed`; `unread` of hers are
    /// unread.
    fn lists_alices_notifications(
        &mut self,
        (unread_only, request): (bool, PageRequest),
        listed: &'static [i64],
        unread: i64,
    ) {
        let list = self.notifications.expect_list().times(1);
        let list = list.with(eq(id("Alice")), eq(unread_only), eq(request));
        list.returning(move |_, _, _| {
            Ok(Some(NotificationListing {
                rows: notifications(listed),
                unread_count: unread,
            }))
        });
    }
}

/// A page of Alice's notifications: what is asked, what the store lists
/// and counts, and what the page shows.
struct NotificationPage {
    unread_only: bool,
    asked: PageRequest,
    listed: &'static [i64],
    unread: i64,
    shown: &'static [i64],
    next_after: Option<i64>,
}

// My notifications come newest first in pages, each with my unread count.
table! { my_notifications {
    my_notifications_come_as_a_page_with_my_unread_count: NotificationPage {
        unread_only: true, asked: page(2, Some(50)), listed: &[40, 30, 20], unread: 5,
        shown: &[40, 30], next_after: Some(30),
    };
    the_last_page_of_notifications_has_no_continuation_but_still_the_unread_count:
        NotificationPage {
            unread_only: false, asked: page(20, None), listed: &[1], unread: 0,
            shown: &[1], next_after: None,
        };
}}

async fn my_notifications(label: &str, expected: NotificationPage) {
    let NotificationPage {
        unread_only,
        asked,
        unread,
        ..
    } = expected;
    let mut ports = SocialPorts::default();
    ports.lists_alices_notifications((unread_only, asked), expected.listed, unread);

    let service = ports.into_service();
    let result = service
        .notifications(&id("Alice"), unread_only, asked)
        .await;

    let result = result.unwrap();
    assert_eq!(ids(&result.page, |n| n.id.get()), expected.shown, "{label}");
    assert_eq!(result.page.next_after, expected.next_after, "{label}");
    assert_eq!(result.unread_count, unread, "{label}");
}

// Marking a notification read works on one's own only: someone else's is as
// missing as one that never was.
table! { marking_read {
    marking_my_notification_read_succeeds: ("Alice", true);
    marking_a_notification_that_is_not_mine_read_answers_notification_not_found: ("Bob1", false);
}}

async fn marking_read(label: &str, (caller, mine): (&str, bool)) {
    let mut ports = SocialPorts::default();
    ports.callers_exist(true);
    let mark = ports.notifications.expect_mark_read().times(1);
    let mark = mark.with(eq(id(caller)), eq(NOTIFICATION));
    mark.returning(move |_, _| Ok(mine));

    let service = ports.into_service();
    let result = service
        .mark_notification_read(&id(caller), NOTIFICATION)
        .await;

    match mine {
        true => assert!(result.is_ok(), "{label}: {result:?}"),
        false => assert_matches!(
            result,
            Err(SocialError::NotificationNotFound(id)) if *id == NOTIFICATION,
            "{label}"
        ),
    }
}

#[tokio::test]
async fn marking_all_notifications_read_marks_all_of_mine() {
    let mut ports = SocialPorts::default();
    ports
        .notifications
        .expect_mark_all_read()
        .with(eq(id("Alice")))
        .times(1)
        .returning(|_| Ok(Some(3)));

    let result = ports
        .into_service()
        .mark_all_notifications_read(&id("Alice"))
        .await;

    assert!(result.is_ok(), "{result:?}");
}
