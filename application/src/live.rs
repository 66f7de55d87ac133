//! Live notifications: the ports through which changes to a user's
//! notifications reach the streams that show them, and the use case that
//! turns a subscription into the events of one stream (replay after
//! `Last-Event-ID`, then live, with no gap and no duplicate).

use std::collections::VecDeque;
use std::sync::Arc;

use async_trait::async_trait;
use minifb_domain::{NotificationId, UserId};

use crate::StoreError;
use crate::social::ports::{NotificationListing, NotificationView};

/// Which notifications were marked read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ReadIds {
    /// Every unread notification of the user (mark-all-read).
    All,
    Some(Vec<NotificationId>),
}

/// A committed change to one user's notifications, as a feed announces it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NotificationChange {
    /// New notifications, by id.
    Created(Vec<NotificationId>),
    /// Unread notifications that disappeared (their cause withdrawn, their
    /// post deleted).
    Withdrawn(Vec<NotificationId>),
    Read(ReadIds),
    /// The feed may have missed changes (it lost its database connection,
    /// or this subscriber fell behind): catch up from the store.
    Missed,
}

/// Why a stream cannot be opened.
#[derive(Debug, thiserror::Error)]
pub enum SubscribeError {
    #[error("this user already has the most open streams allowed")]
    TooManyForUser,
    #[error("this server process holds the most open streams it allows")]
    TooManyForProcess,
    #[error("the server is shutting down")]
    Closing,
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// One subscriber's view of a feed.
#[async_trait]
pub trait FeedSubscription: Send + Sync {
    /// The next change to the subscriber's notifications, in commit order;
    /// `None` once the feed closes (the server is shutting down). Dropping
    /// the subscription frees its place in the limits.
    async fn next(&mut self) -> Option<NotificationChange>;
}

/// Subscribing to the changes of one user's notifications ("subscribe").
///
/// Contract: a subscriber hears of every change committed after
/// `subscribe` returned, whichever process wrote it, within a second, or
/// hears [`NotificationChange::Missed`]. At most 5 subscriptions per user
/// are open at once across every process sharing the store
/// ([`SubscribeError::TooManyForUser`]), and at most the configured number
/// per process ([`SubscribeError::TooManyForProcess`]). An open
/// subscription holds no store connection.
#[async_trait]
pub trait NotificationFeed: Send + Sync {
    async fn subscribe(&self, user: &UserId) -> Result<Box<dyn FeedSubscription>, SubscribeError>;

    /// How many subscriptions this process holds open.
    fn open_here(&self) -> usize;
}

/// Which of a user's notifications a stream reads.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Selection {
    /// Up to `limit` with ids above `id`: a page of a replay.
    After { id: i64, limit: u32 },
    /// Those of these that are the user's and still exist.
    Ids(Vec<NotificationId>),
}

/// What a stream reads of its user's notifications, from the store whose
/// changes the [`NotificationFeed`] announces.
#[cfg_attr(any(test, feature = "mocks"), mockall::automock)]
#[async_trait]
pub trait LiveNotificationRepository: Send + Sync {
    /// How many of the user's notifications are unread; `None` if there is
    /// no such user (any more).
    async fn unread_count(&self, user_id: &UserId) -> Result<Option<i64>, StoreError>;

    /// The selected notifications of the user, oldest first, with the
    /// user's unread count read in the same statement (0 when no row is
    /// found).
    async fn select(
        &self,
        user_id: &UserId,
        which: Selection,
    ) -> Result<NotificationListing, StoreError>;

    /// The id of the user's newest notification, 0 when they have none;
    /// `None` if there is no such user (any more).
    async fn latest_id(&self, user_id: &UserId) -> Result<Option<i64>, StoreError>;
}

/// One event of a stream.
#[derive(Debug, Clone, PartialEq)]
pub enum LiveEvent {
    Notification {
        notification: NotificationView,
        unread_count: i64,
    },
    Withdrawn {
        id: NotificationId,
        unread_count: i64,
    },
    Read {
        ids: ReadIds,
        unread_count: i64,
    },
}

#[derive(Debug, thiserror::Error)]
pub enum LiveError {
    #[error(transparent)]
    Subscribe(#[from] SubscribeError),
    #[error("the caller's account no longer exists")]
    CallerGone,
}

impl From<StoreError> for LiveError {
    fn from(error: StoreError) -> Self {
        Self::Subscribe(SubscribeError::Store(error))
    }
}

/// Replayed notifications are read in pages of this many.
const REPLAY_PAGE: u32 = 100;

#[derive(Clone)]
pub struct LiveService {
    pub notifications: Arc<dyn LiveNotificationRepository>,
    pub feed: Arc<dyn NotificationFeed>,
}

impl LiveService {
    /// Opens a stream of `user`'s notification events. With
    /// `last_event_id`, every notification with a greater id that still
    /// exists comes first, oldest first.
    ///
    /// The subscription is made before the replay is read, so a change
    /// committed meanwhile is both replayed and heard live; live
    /// notifications with an id the replay already covered are skipped.
    pub async fn open(
        &self,
        user: &UserId,
        last_event_id: Option<NotificationId>,
    ) -> Result<LiveStream, LiveError> {
        let last_event_id = last_event_id.map(NotificationId::get);
        let subscription = self.feed.subscribe(user).await?;
        // One statement tells that the caller still exists and where live
        // notifications start.
        let Some(latest) = self.notifications.latest_id(user).await? else {
            return Err(LiveError::CallerGone);
        };
        let seen = last_event_id.unwrap_or(latest);
        Ok(LiveStream {
            user: user.clone(),
            notifications: Arc::clone(&self.notifications),
            subscription,
            pending: VecDeque::new(),
            replay_from: last_event_id,
            replayed_up_to: 0,
            seen,
        })
    }

    pub fn open_streams(&self) -> usize {
        self.feed.open_here()
    }
}

/// The events of one stream, in order.
pub struct LiveStream {
    user: UserId,
    notifications: Arc<dyn LiveNotificationRepository>,
    subscription: Box<dyn FeedSubscription>,
    pending: VecDeque<LiveEvent>,
    /// Where the replay (or a catch-up) goes on from; `None` when live.
    replay_from: Option<i64>,
    /// Live notifications up to this id were replayed already.
    replayed_up_to: i64,
    /// The greatest notification id shown (or the user's newest at open).
    seen: i64,
}

impl LiveStream {
    /// The next event; `Ok(None)` when the feed closed.
    pub async fn next(&mut self) -> Result<Option<LiveEvent>, StoreError> {
        loop {
            if let Some(event) = self.pending.pop_front() {
                return Ok(Some(event));
            }
            if let Some(after) = self.replay_from {
                self.replay_page(after).await?;
                continue;
            }
            let Some(change) = self.subscription.next().await else {
                return Ok(None);
            };
            self.apply(change).await?;
        }
    }

    async fn unread_count(&self) -> Result<i64, StoreError> {
        Ok(self
            .notifications
            .unread_count(&self.user)
            .await?
            .unwrap_or(0))
    }

    async fn replay_page(&mut self, after: i64) -> Result<(), StoreError> {
        let page = Selection::After {
            id: after,
            limit: REPLAY_PAGE,
        };
        let NotificationListing { rows, unread_count } =
            self.notifications.select(&self.user, page).await?;
        let full = rows.len() >= REPLAY_PAGE as usize;
        for notification in rows {
            let id = notification.id.get();
            self.seen = self.seen.max(id);
            self.replayed_up_to = self.replayed_up_to.max(id);
            self.pending.push_back(LiveEvent::Notification {
                notification,
                unread_count,
            });
        }
        self.replay_from = full.then_some(self.seen);
        Ok(())
    }

    async fn apply(&mut self, change: NotificationChange) -> Result<(), StoreError> {
        match change {
            NotificationChange::Created(ids) => {
                let ids: Vec<_> = ids
                    .into_iter()
                    .filter(|id| id.get() > self.replayed_up_to)
                    .collect();
                if ids.is_empty() {
                    return Ok(());
                }
                let NotificationListing { rows, unread_count } = self
                    .notifications
                    .select(&self.user, Selection::Ids(ids))
                    .await?;
                for notification in rows {
                    self.seen = self.seen.max(notification.id.get());
                    self.pending.push_back(LiveEvent::Notification {
                        notification,
                        unread_count,
                    });
                }
            }
            NotificationChange::Withdrawn(ids) => {
                let unread_count = self.unread_count().await?;
                self.pending.extend(
                    ids.into_iter()
                        .map(|id| LiveEvent::Withdrawn { id, unread_count }),
                );
            }
            NotificationChange::Read(ids) => {
                let unread_count = self.unread_count().await?;
                self.pending
                    .push_back(LiveEvent::Read { ids, unread_count });
            }
            NotificationChange::Missed => {
                self.replayed_up_to = self.seen;
                self.replay_from = Some(self.seen);
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests;
