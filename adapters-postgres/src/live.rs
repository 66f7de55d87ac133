//! The live-notification feed of one process: one `LISTEN` connection
//! (outside the request pool) hears the `NOTIFY`s that the triggers of
//! `notifications` send at commit, and hands each change to this process's
//! subscribers of that user (a map of user → broadcast sender). An open
//! subscription holds no pooled connection: only opening and closing one
//! touch the pool (to take and free its slot in `notification_streams`).
//!
//! A slot belongs to a subscription, never to an opening that was given
//! up: the slot's statements run on a blocking thread that finishes even
//! when the request waiting for it is dropped (its client went away), so
//! the slot is taken by a task of its own whose result is a [`SlotLease`],
//! and a lease that nobody receives frees its slot when the task's output
//! is dropped.
//!
//! The listener is `tokio-postgres` rather than Diesel: Diesel's
//! notification support (`PgConnection::notifications_iter`) only drains
//! what libpq has already received and cannot wait for the next message,
//! so a blocking thread would have to poll the socket with queries; the
//! tokio-postgres connection yields each notification as an async message
//! the moment it arrives, on the runtime, with no thread and no polling.
//! (It connects without TLS: the URL's `sslmode` must allow that.)
//!
//! When the listening connection fails (a database restart), it reconnects
//! with a growing backoff (0.1 s doubling up to 5 s). Each time it starts
//! listening, the first time included (streams may open before it does), it
//! tells every subscriber [`NotificationChange::Missed`], so that each
//! stream catches up from the database.

use std::collections::HashMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_trait::async_trait;
use diesel::prelude::*;
use diesel::sql_types::{SmallInt, Text};
use minifb_application::StoreError;
use minifb_application::live::{
    FeedSubscription, NotificationChange, NotificationFeed, ReadIds, SubscribeError,
};
use minifb_domain::{NotificationId, UserId, UserKey};
use serde::Deserialize;
use tokio::sync::{broadcast, mpsc, watch};

use crate::pool::{Pool, run};

/// The channel the triggers announce on.
pub const CHANNEL: &str = "minifb_notifications";
/// Streams per user, across every process.
pub const STREAMS_PER_USER: i16 = 5;
/// How long a slot lives without its process renewing it.
const LEASE: &str = "30 seconds";
/// How often a process renews its slots.
const RENEW_EVERY: Duration = Duration::from_secs(10);
/// Changes a slow subscriber may fall behind by before it must catch up
/// (from the database, as after a lost connection). Every slot is
/// allocated with the user's channel, so the backlog is memory that each
/// user with an open stream holds: a few changes cover a burst, and a
/// stream further behind reads one page rather than each change.
const BACKLOG: usize = 16;

/// One NOTIFY payload, as the triggers write it.
#[derive(Debug, Deserialize)]
struct Payload {
    u: String,
    e: String,
    ids: PayloadIds,
}

#[derive(Debug, Deserialize)]
#[serde(untagged)]
enum PayloadIds {
    Ids(Vec<i64>),
    All(String),
}

impl Payload {
    fn change(self) -> Option<(UserKey, NotificationChange)> {
        let ids = |ids: Vec<i64>| ids.into_iter().map(NotificationId::new).collect();
        let change = match (self.e.as_str(), self.ids) {
            ("n", PayloadIds::Ids(list)) => NotificationChange::Created(ids(list)),
            ("w", PayloadIds::Ids(list)) => NotificationChange::Withdrawn(ids(list)),
            ("r", PayloadIds::Ids(list)) => NotificationChange::Read(ReadIds::Some(ids(list))),
            ("r", PayloadIds::All(all)) if all == "all" => NotificationChange::Read(ReadIds::All),
            _ => return None,
        };
        // Keyed as subscriptions are: by the id's case-folded key.
        Some((UserKey::claimed(&self.u), change))
    }
}

/// The feed of one process: [`NotificationFeed`] over PostgreSQL.
#[derive(Clone)]
pub struct PgNotificationHub {
    inner: Arc<Hub>,
}

struct Hub {
    pool: Pool,
    database_url: String,
    process_id: String,
    max_streams: usize,
    open: AtomicUsize,
    users: Mutex<HashMap<UserKey, broadcast::Sender<NotificationChange>>>,
    closing: watch::Sender<bool>,
    releases: mpsc::UnboundedSender<(UserKey, i16)>,
    released: Mutex<Option<mpsc::UnboundedReceiver<(UserKey, i16)>>>,
}

impl PgNotificationHub {
    /// A hub for at most `max_streams` open subscriptions in this process.
    /// Nothing is heard until [`Self::run`] runs.
    pub fn new(pool: Pool, database_url: &str, max_streams: usize) -> Self {
        let (releases, released) = mpsc::unbounded_channel();
        let (closing, _) = watch::channel(false);
        Self {
            inner: Arc::new(Hub {
                pool,
                database_url: database_url.to_owned(),
                process_id: uuid::Uuid::new_v4().to_string(),
                max_streams,
                open: AtomicUsize::new(0),
                users: Mutex::new(HashMap::new()),
                closing,
                releases,
                released: Mutex::new(Some(released)),
            }),
        }
    }

    /// Closes every subscription (their streams end) and refuses new ones:
    /// the first step of a graceful shutdown.
    pub fn close(&self) {
        self.inner.closing.send_replace(true);
    }

    /// Listens and keeps the slots of this process alive until
    /// [`Self::close`]; then frees them.
    pub async fn run(self) {
        let released = self
            .inner
            .released
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .take();
        let Some(released) = released else { return };
        tokio::join!(self.listen(), self.keep_slots(released));
    }

    fn users(
        &self,
    ) -> std::sync::MutexGuard<'_, HashMap<UserKey, broadcast::Sender<NotificationChange>>> {
        self.inner.users.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn dispatch(&self, user_key: &UserKey, change: NotificationChange) {
        if let Some(sender) = self.users().get(user_key) {
            sender.send(change).ok();
        }
    }

    fn dispatch_all(&self, change: &NotificationChange) {
        for sender in self.users().values() {
            sender.send(change.clone()).ok();
        }
    }

    /// The listening connection, reconnected with backoff until closing.
    async fn listen(&self) {
        let mut closing = self.inner.closing.subscribe();
        let mut backoff = Duration::from_millis(100);
        let mut lost = false;
        while !*closing.borrow() {
            let session = self.listen_once(lost, &mut backoff);
            tokio::select! {
                result = session => {
                    if let Err(error) = result {
                        tracing::warn!(%error, retry_in_ms = backoff.as_millis() as u64, "live-notification listener lost its connection");
                    }
                }
                _ = closing.changed() => return,
            }
            lost = true;
            tokio::select! {
                () = tokio::time::sleep(backoff) => {}
                _ = closing.changed() => return,
            }
            backoff = (backoff * 2).min(Duration::from_secs(5));
        }
    }

    /// One listening session: connect, `LISTEN`, dispatch until the
    /// connection ends.
    async fn listen_once(&self, after_loss: bool, backoff: &mut Duration) -> anyhow::Result<()> {
        let (client, mut connection) =
            tokio_postgres::connect(&self.inner.database_url, tokio_postgres::NoTls).await?;
        let (messages, mut received) = mpsc::unbounded_channel();
        let driver = tokio::spawn(async move {
            loop {
                let message = std::future::poll_fn(|cx| connection.poll_message(cx)).await;
                match message {
                    Some(Ok(message)) => {
                        if messages.send(Ok(message)).is_err() {
                            return;
                        }
                    }
                    Some(Err(error)) => {
                        messages.send(Err(error)).ok();
                        return;
                    }
                    None => return,
                }
            }
        });
        let _abort = AbortOnDrop(driver);
        client.batch_execute(&format!("LISTEN {CHANNEL}")).await?;
        *backoff = Duration::from_millis(100);
        tracing::info!("live-notification listener is listening");
        if after_loss {
            // What cost this connection (a database restart) cost the idle
            // pooled ones too, and checkouts do not ping: without this the
            // catch-up below would draw them, fail, and end every stream.
            let stale = self.inner.pool.retain(|_, _| false).removed.len();
            tracing::info!(
                stale,
                "idle pooled connections dropped after the listener's loss"
            );
        }
        // Whatever was committed while nobody listened is read back: after
        // a loss, and at the first connection too, since the server serves
        // (and streams may open) before its listener has connected.
        self.dispatch_all(&NotificationChange::Missed);
        while let Some(message) = received.recv().await {
            if let tokio_postgres::AsyncMessage::Notification(notification) = message? {
                match serde_json::from_str::<Payload>(notification.payload())
                    .ok()
                    .and_then(Payload::change)
                {
                    Some((user, change)) => self.dispatch(&user, change),
                    None => tracing::warn!("unreadable live-notification payload"),
                }
            }
        }
        anyhow::bail!("the listening connection closed")
    }

    /// Renews this process's slots every [`RENEW_EVERY`] and frees the
    /// slots of closed subscriptions (retrying those the database did not
    /// take); at closing, frees them all.
    async fn keep_slots(&self, mut released: mpsc::UnboundedReceiver<(UserKey, i16)>) {
        let mut closing = self.inner.closing.subscribe();
        let mut renewals = tokio::time::interval(RENEW_EVERY);
        renewals.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        let mut unfreed: Vec<(UserKey, i16)> = Vec::new();
        loop {
            tokio::select! {
                _ = renewals.tick() => {
                    if let Err(error) = self.renew().await {
                        tracing::warn!(%error, "stream slots not renewed");
                    }
                    let retry = std::mem::take(&mut unfreed);
                    for slot in retry {
                        if self.free(&slot).await.is_err() {
                            unfreed.push(slot);
                        }
                    }
                }
                Some(slot) = released.recv() => {
                    if self.free(&slot).await.is_err() {
                        unfreed.push(slot);
                    }
                }
                // `wait_for`, not `changed`: a close that came before this
                // task first ran (a SIGTERM at start-up) must end it too.
                _ = async { closing.wait_for(|closed| *closed).await.is_ok() } => break,
            }
        }
        let process = self.inner.process_id.clone();
        let freed = run(&self.inner.pool, move |conn| {
            diesel::sql_query("DELETE FROM notification_streams WHERE process_id = $1")
                .bind::<Text, _>(process)
                .execute(conn)
        })
        .await;
        if let Err(error) = freed {
            tracing::warn!(%error, "stream slots not freed at shutdown; they expire on their own");
        }
    }

    async fn renew(&self) -> Result<usize, StoreError> {
        let process = self.inner.process_id.clone();
        run(&self.inner.pool, move |conn| {
            diesel::sql_query(format!(
                "UPDATE notification_streams SET expires_at = now() + interval '{LEASE}' WHERE process_id = $1"
            ))
            .bind::<Text, _>(process)
            .execute(conn)
        })
        .await
    }

    async fn free(&self, (user_key, slot): &(UserKey, i16)) -> Result<usize, StoreError> {
        let (user_key, slot, process) = (
            user_key.as_str().to_owned(),
            *slot,
            self.inner.process_id.clone(),
        );
        run(&self.inner.pool, move |conn| {
            diesel::sql_query(
                "DELETE FROM notification_streams WHERE user_key = $1 AND slot = $2 AND process_id = $3",
            )
            .bind::<Text, _>(user_key)
            .bind::<SmallInt, _>(slot)
            .bind::<Text, _>(process)
            .execute(conn)
        })
        .await
    }

    /// Takes a free slot of the user's 5 as a lease, or `None`.
    ///
    /// The slot's statements run in a task of their own, so that an
    /// opening dropped while they run (its client gone) cannot leave a
    /// slot behind: the slot they take becomes the task's output, a lease,
    /// which is dropped (and so freed) when nobody is left to receive it.
    async fn lease_slot(&self, user_key: UserKey) -> Result<Option<SlotLease>, StoreError> {
        let hub = self.clone();
        let taking = tokio::spawn(async move {
            let slot = hub.take_slot(&user_key).await?;
            Ok(slot.map(|slot| SlotLease {
                releases: hub.inner.releases.clone(),
                user_key,
                slot,
            }))
        });
        taking.await.map_err(|error| {
            StoreError::Other(anyhow::anyhow!("taking a stream slot failed: {error}"))
        })?
    }

    /// Takes a free slot of the user's 5, or `None`, in one statement as
    /// a rule. An expired slot (of a process that stopped renewing) is
    /// free and taken over in place. Two processes racing for one slot are
    /// settled by the primary key: the loser finds no row taken and tries
    /// again while the user has a slot left.
    async fn take_slot(&self, user_key: &UserKey) -> Result<Option<i16>, StoreError> {
        let (user_key, process) = (user_key.as_str().to_owned(), self.inner.process_id.clone());
        run(&self.inner.pool, move |conn| {
            for _ in 0..STREAMS_PER_USER {
                let taken = diesel::sql_query(format!(
                    "INSERT INTO notification_streams AS held (user_key, slot, process_id, expires_at)
                     SELECT $1, s, $2, now() + interval '{LEASE}'
                     FROM generate_series(1, {STREAMS_PER_USER}) AS s
                     WHERE s NOT IN (SELECT slot FROM notification_streams
                                     WHERE user_key = $1 AND expires_at >= now())
                     ORDER BY s LIMIT 1
                     ON CONFLICT (user_key, slot) DO UPDATE
                         SET process_id = EXCLUDED.process_id, opened_at = now(),
                             expires_at = EXCLUDED.expires_at
                         WHERE held.expires_at < now()
                     RETURNING slot"
                ))
                .bind::<Text, _>(&user_key)
                .bind::<Text, _>(&process)
                .get_results::<Slot>(conn)?;
                if let Some(slot) = taken.first() {
                    return Ok(Some(slot.slot));
                }
                let used = diesel::sql_query(
                    "SELECT count(*)::smallint AS slot FROM notification_streams
                     WHERE user_key = $1 AND expires_at >= now()",
                )
                .bind::<Text, _>(&user_key)
                .get_result::<Slot>(conn)?;
                if used.slot >= STREAMS_PER_USER {
                    return Ok(None);
                }
            }
            Ok(None)
        })
        .await
    }
}

#[derive(QueryableByName)]
struct Slot {
    #[diesel(sql_type = SmallInt)]
    slot: i16,
}

struct AbortOnDrop(tokio::task::JoinHandle<()>);

impl Drop for AbortOnDrop {
    fn drop(&mut self) {
        self.0.abort();
    }
}

/// A subscription's place among this process's open streams; dropping it
/// gives the place back (and forgets the user's sender once nobody of that
/// user listens).
struct Place {
    hub: PgNotificationHub,
    user_key: UserKey,
}

impl Drop for Place {
    fn drop(&mut self) {
        self.hub.inner.open.fetch_sub(1, Ordering::AcqRel);
        let mut users = self.hub.users();
        if users
            .get(&self.user_key)
            .is_some_and(|sender| sender.receiver_count() == 0)
        {
            users.remove(&self.user_key);
        }
    }
}

/// One of the user's slots in `notification_streams`, taken by this
/// process; dropping the lease frees the slot (through [`PgNotificationHub::run`],
/// which retries until the database takes it).
struct SlotLease {
    releases: mpsc::UnboundedSender<(UserKey, i16)>,
    user_key: UserKey,
    slot: i16,
}

impl Drop for SlotLease {
    fn drop(&mut self) {
        self.releases.send((self.user_key.clone(), self.slot)).ok();
    }
}

struct PgSubscription {
    changes: broadcast::Receiver<NotificationChange>,
    closing: watch::Receiver<bool>,
    _slot: SlotLease,
    // Dropped after `changes`, so that the user's sender sees no receiver.
    _place: Place,
}

#[async_trait]
impl FeedSubscription for PgSubscription {
    async fn next(&mut self) -> Option<NotificationChange> {
        if *self.closing.borrow() {
            return None;
        }
        tokio::select! {
            received = self.changes.recv() => match received {
                Ok(change) => Some(change),
                Err(broadcast::error::RecvError::Lagged(_)) => Some(NotificationChange::Missed),
                Err(broadcast::error::RecvError::Closed) => None,
            },
            _ = self.closing.changed() => None,
        }
    }
}

#[async_trait]
impl NotificationFeed for PgNotificationHub {
    async fn subscribe(&self, user: &UserId) -> Result<Box<dyn FeedSubscription>, SubscribeError> {
        if *self.inner.closing.borrow() {
            return Err(SubscribeError::Closing);
        }
        let admitted = self
            .inner
            .open
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |open| {
                (open < self.inner.max_streams).then_some(open + 1)
            });
        if admitted.is_err() {
            return Err(SubscribeError::TooManyForProcess);
        }
        let user_key = user.key();
        let place = Place {
            hub: self.clone(),
            user_key: user_key.clone(),
        };
        // Subscribed before the slot is taken, so that nothing committed
        // after `subscribe` returns can be missed.
        let changes = self
            .users()
            .entry(user_key.clone())
            .or_insert_with(|| broadcast::channel(BACKLOG).0)
            .subscribe();
        let Some(slot) = self.lease_slot(user_key).await? else {
            return Err(SubscribeError::TooManyForUser);
        };
        Ok(Box::new(PgSubscription {
            changes,
            closing: self.inner.closing.subscribe(),
            _slot: slot,
            _place: place,
        }))
    }

    fn open_here(&self) -> usize {
        self.inner.open.load(Ordering::Acquire)
    }
}
