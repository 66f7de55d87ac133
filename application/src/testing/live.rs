//! The live-notification ports in memory: a feed that announces what a
//! store of notifications commits, as PostgreSQL's triggers do, with a
//! listener that can be lost and regained; and points where a call can be
//! held, so that a test can drop its caller there or act meanwhile.

use std::collections::{BTreeMap, HashMap, HashSet, VecDeque};
use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex, MutexGuard, Weak};
use std::task::{Context, Poll, Waker};

use async_trait::async_trait;
use chrono::DateTime;
use minifb_domain::{NotificationId, NotificationKind, PostId, UserId, UserKey};

use crate::StoreError;
use crate::live::{
    FeedSubscription, LiveNotificationRepository, NotificationChange, NotificationFeed, ReadIds,
    Selection, SubscribeError,
};
use crate::social::ports::{Author, NotificationListing, NotificationView};

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(|e| e.into_inner())
}

/// Named points where calls of a double wait while the point is held.
#[derive(Default)]
pub struct Holds {
    state: Mutex<HoldState>,
}

#[derive(Default)]
struct HoldState {
    held: HashSet<&'static str>,
    /// Calls that reached each point while it was held.
    reached: HashMap<&'static str, usize>,
    wakers: Vec<Waker>,
}

impl Holds {
    /// Calls that reach `point` from now on wait until it is released.
    pub fn hold(&self, point: &'static str) {
        lock(&self.state).held.insert(point);
    }

    /// Lets the calls waiting at `point` (and later ones) go on.
    pub fn release(&self, point: &'static str) {
        let mut state = lock(&self.state);
        state.held.remove(point);
        for waker in state.wakers.drain(..) {
            waker.wake();
        }
    }

    /// How many calls reached `point` while it was held.
    pub fn reached(&self, point: &'static str) -> usize {
        lock(&self.state).reached.get(point).copied().unwrap_or(0)
    }

    /// Passes `point`, waiting while it is held.
    pub fn pass(&self, point: &'static str) -> impl Future<Output = ()> + Send + '_ {
        Pass {
            holds: self,
            point,
            counted: false,
        }
    }
}

struct Pass<'a> {
    holds: &'a Holds,
    point: &'static str,
    counted: bool,
}

impl Future for Pass<'_> {
    type Output = ();

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        let mut state = lock(&self.holds.state);
        if !state.held.contains(self.point) {
            return Poll::Ready(());
        }
        if !self.counted {
            *state.reached.entry(self.point).or_insert(0) += 1;
        }
        state.wakers.push(cx.waker().clone());
        drop(state);
        self.counted = true;
        Poll::Pending
    }
}

/// The feed's contract in memory: every change [`MemoryNotifications`]
/// commits is announced to the subscribers of its user while the listener
/// listens; [`MemoryFeed::lose_listener`] makes it deaf, and
/// [`MemoryFeed::regain_listener`] tells every subscriber it missed
/// changes. At most 5 subscriptions per user. A subscription's place is
/// taken before `subscribe` awaits (at the point `"subscribe"`), and given
/// back when it, or the unfinished `subscribe`, is dropped.
#[derive(Default)]
pub struct MemoryFeed {
    state: Arc<Mutex<FeedState>>,
    pub holds: Holds,
}

/// Subscriptions per user, as the contract says.
const PER_USER: usize = 5;

#[derive(Default)]
struct FeedState {
    subscribers: HashMap<UserKey, Vec<Weak<Queue>>>,
    deaf: bool,
    closed: bool,
}

impl FeedState {
    /// Every open subscription's queue.
    fn all_live(&mut self) -> Vec<Arc<Queue>> {
        let users: Vec<UserKey> = self.subscribers.keys().cloned().collect();
        users.iter().flat_map(|user| self.live(user)).collect()
    }

    fn live(&mut self, user: &UserKey) -> Vec<Arc<Queue>> {
        let queues = self.subscribers.entry(user.clone()).or_default();
        queues.retain(|queue| queue.strong_count() > 0);
        queues.iter().filter_map(Weak::upgrade).collect()
    }
}

#[derive(Default)]
struct Queue {
    state: Mutex<QueueState>,
}

#[derive(Default)]
struct QueueState {
    changes: VecDeque<NotificationChange>,
    closed: bool,
    waker: Option<Waker>,
}

impl Queue {
    fn push(&self, change: NotificationChange) {
        let mut state = lock(&self.state);
        state.changes.push_back(change);
        if let Some(waker) = state.waker.take() {
            waker.wake();
        }
    }

    fn close(&self) {
        let mut state = lock(&self.state);
        state.closed = true;
        if let Some(waker) = state.waker.take() {
            waker.wake();
        }
    }
}

impl MemoryFeed {
    fn state(&self) -> MutexGuard<'_, FeedState> {
        lock(&self.state)
    }

    /// Announces `change` to `user`'s subscribers, unless deaf.
    pub fn publish(&self, user: &UserId, change: NotificationChange) {
        let mut state = self.state();
        if state.deaf {
            return;
        }
        for queue in state.live(&user.key()) {
            queue.push(change.clone());
        }
    }

    /// The listener loses its connection: nothing is heard until
    /// [`Self::regain_listener`].
    pub fn lose_listener(&self) {
        self.state().deaf = true;
    }

    /// The listener is back: every subscriber hears
    /// [`NotificationChange::Missed`].
    pub fn regain_listener(&self) {
        let mut state = self.state();
        state.deaf = false;
        for queue in state.all_live() {
            queue.push(NotificationChange::Missed);
        }
    }

    /// The server shuts down: every subscription ends, none opens.
    pub fn close(&self) {
        let mut state = self.state();
        state.closed = true;
        for queue in state.all_live() {
            queue.close();
        }
    }
}

struct MemorySubscription {
    queue: Arc<Queue>,
}

#[async_trait]
impl FeedSubscription for MemorySubscription {
    async fn next(&mut self) -> Option<NotificationChange> {
        std::future::poll_fn(|cx| {
            let mut state = lock(&self.queue.state);
            if let Some(change) = state.changes.pop_front() {
                return Poll::Ready(Some(change));
            }
            if state.closed {
                return Poll::Ready(None);
            }
            state.waker = Some(cx.waker().clone());
            Poll::Pending
        })
        .await
    }
}

#[async_trait]
impl NotificationFeed for MemoryFeed {
    async fn subscribe(&self, user: &UserId) -> Result<Box<dyn FeedSubscription>, SubscribeError> {
        let subscription = {
            let mut state = self.state();
            if state.closed {
                return Err(SubscribeError::Closing);
            }
            if state.live(&user.key()).len() >= PER_USER {
                return Err(SubscribeError::TooManyForUser);
            }
            let queue = Arc::new(Queue::default());
            state
                .subscribers
                .entry(user.key())
                .or_default()
                .push(Arc::downgrade(&queue));
            MemorySubscription { queue }
        };
        self.holds.pass("subscribe").await;
        Ok(Box::new(subscription))
    }

    fn open_here(&self) -> usize {
        self.state().all_live().len()
    }
}

/// Users and their notifications in memory, every change announced on a
/// [`MemoryFeed`] as it commits. Each call of the repository first passes
/// the point named after its method (`"unread_count"`, `"latest_id"`; `select`
/// passes `"after"` or `"by_ids"`).
pub struct MemoryNotifications {
    feed: Arc<MemoryFeed>,
    state: Mutex<StoreState>,
    pub holds: Holds,
}

#[derive(Default)]
struct StoreState {
    users: HashSet<UserKey>,
    /// By id: whose it is, and the notification.
    rows: BTreeMap<i64, (UserKey, NotificationView)>,
    last_id: i64,
}

impl StoreState {
    fn of<'a>(&'a self, user: &UserId) -> impl DoubleEndedIterator<Item = &'a NotificationView> {
        let key = user.key();
        self.rows
            .values()
            .filter(move |(owner, _)| *owner == key)
            .map(|(_, view)| view)
    }

    /// `rows` with the unread count, as one statement reads them.
    fn listing(&self, user: &UserId, rows: Vec<NotificationView>) -> NotificationListing {
        let unread_count = if rows.is_empty() {
            0
        } else {
            self.unread(user).unwrap_or(0)
        };
        NotificationListing { rows, unread_count }
    }

    fn unread(&self, user: &UserId) -> Option<i64> {
        self.users.contains(&user.key()).then(|| {
            let unread = self.of(user).filter(|view| !view.read).count();
            i64::try_from(unread).unwrap_or(i64::MAX)
        })
    }
}

impl MemoryNotifications {
    pub fn new(feed: Arc<MemoryFeed>) -> Self {
        Self {
            feed,
            state: Mutex::default(),
            holds: Holds::default(),
        }
    }

    fn state(&self) -> MutexGuard<'_, StoreState> {
        lock(&self.state)
    }

    pub fn add_user(&self, user: &UserId) {
        self.state().users.insert(user.key());
    }

    /// The user's account is removed, with their notifications.
    pub fn remove_user(&self, user: &UserId) {
        let key = user.key();
        let mut state = self.state();
        state.users.remove(&key);
        state.rows.retain(|_, (owner, _)| *owner != key);
    }

    /// Commits a new, unread notification for `user` (someone reacted to
    /// their post) and announces it; its id.
    pub fn notify(&self, user: &UserId) -> NotificationId {
        let id = {
            let mut state = self.state();
            state.last_id += 1;
            let id = NotificationId::new(state.last_id);
            let view = NotificationView {
                id,
                kind: NotificationKind::Reacted,
                actor: Author {
                    id: user.clone(),
                    name: "Actor".into(),
                    nickname: None,
                },
                post_id: PostId::new(1),
                comment_id: None,
                read: false,
                created_at: DateTime::UNIX_EPOCH,
            };
            state.rows.insert(id.get(), (user.key(), view));
            id
        };
        self.feed
            .publish(user, NotificationChange::Created(vec![id]));
        id
    }

    /// Deletes a notification (its cause withdrawn); announced if it was
    /// unread.
    pub fn withdraw(&self, user: &UserId, id: NotificationId) {
        let removed = self.state().rows.remove(&id.get());
        if removed.is_some_and(|(_, view)| !view.read) {
            self.feed
                .publish(user, NotificationChange::Withdrawn(vec![id]));
        }
    }
}

impl MemoryNotifications {
    /// Marks one of the user's notifications read, as the store does;
    /// announced if it was theirs.
    pub fn mark_read(&self, user_id: &UserId, id: NotificationId) -> bool {
        let key = user_id.key();
        let marked = match self.state().rows.get_mut(&id.get()) {
            Some((owner, view)) if *owner == key => {
                view.read = true;
                true
            }
            _ => false,
        };
        if marked {
            self.feed
                .publish(user_id, NotificationChange::Read(ReadIds::Some(vec![id])));
        }
        marked
    }

    /// Marks all of the user's notifications read, as the store does; how
    /// many were unread (announced if any).
    pub fn mark_all_read(&self, user_id: &UserId) -> u64 {
        let key = user_id.key();
        let mut marked = 0;
        for (owner, view) in self.state().rows.values_mut() {
            if *owner == key && !view.read {
                view.read = true;
                marked += 1;
            }
        }
        if marked > 0 {
            self.feed
                .publish(user_id, NotificationChange::Read(ReadIds::All));
        }
        marked
    }
}

#[async_trait]
impl LiveNotificationRepository for MemoryNotifications {
    async fn unread_count(&self, user_id: &UserId) -> Result<Option<i64>, StoreError> {
        self.holds.pass("unread_count").await;
        Ok(self.state().unread(user_id))
    }

    async fn select(
        &self,
        user_id: &UserId,
        which: Selection,
    ) -> Result<NotificationListing, StoreError> {
        let point = match which {
            Selection::After { .. } => "after",
            Selection::Ids(_) => "by_ids",
        };
        self.holds.pass(point).await;
        let state = self.state();
        let rows: Vec<_> = match which {
            Selection::After { id, limit } => state
                .of(user_id)
                .filter(|view| view.id.get() > id)
                .take(usize::try_from(limit).unwrap_or(usize::MAX))
                .cloned()
                .collect(),
            Selection::Ids(ids) => state
                .of(user_id)
                .filter(|view| ids.contains(&view.id))
                .cloned()
                .collect(),
        };
        Ok(state.listing(user_id, rows))
    }

    async fn latest_id(&self, user_id: &UserId) -> Result<Option<i64>, StoreError> {
        self.holds.pass("latest_id").await;
        let state = self.state();
        let latest = state
            .of(user_id)
            .next_back()
            .map_or(0, |view| view.id.get());
        Ok(state.users.contains(&user_id.key()).then_some(latest))
    }
}
