//! Where a statement runs: the primary, or a streaming replica.
//!
//! Repositories hold a [`Database`] and say what each statement is:
//! [`write`] (and every read that must see the latest state, such as a
//! login) runs on the primary; [`read`] is the read of a
//! route that the contract lets a replica serve, and goes to a replica only
//! when the request is in a [`ReadScope`] (entered by the HTTP adapter for
//! those routes) and a replica may answer it:
//!
//! - it answered the last check (once a second, off the request path) and
//!   is at most `max_lag` behind the primary. Lag is zero once the
//!   replica's replay position has reached the primary's WAL position (an
//!   idle primary is not lag); otherwise it is the shorter of the time
//!   since its last replayed commit and the time since it was last seen
//!   caught up;
//! - for a signed-in reader, it has replayed that reader's last write. After
//!   every write answered 2xx, the HTTP adapter calls
//!   [`ReadReplicas::wrote`]: one statement on the primary,
//!   `pg_notify('minifb_writes', '<user key> <pg_current_wal_insert_lsn()>')`,
//!   run after the write committed. (The insert position, not
//!   `pg_current_wal_lsn()`: that is the position written out so far, which
//!   under `synchronous_commit = off` can still be short of the write's
//!   commit record.) Every process listens on that channel and
//!   keeps user → position until every replica has replayed past it. A
//!   read that arrives here before this process has heard of a write
//!   answered by another process is covered by a *listener sync*: the
//!   reader waits for a `SELECT 1` on the listening connection that began
//!   after it arrived, and PostgreSQL delivers every notification committed
//!   before a statement to that session before the statement's answer. All
//!   readers waiting at once share the next sync, so a signed-in read costs
//!   the primary at most one trivial statement, shared by every read that
//!   arrived meanwhile; an anonymous read costs it nothing. While the
//!   listener is not connected, signed-in reads go to the primary; when it
//!   connects, the primary's position then is a floor that every signed-in
//!   read needs (writes before it may have gone unheard).
//!
//! A replica read that cannot open a connection, loses it, or is cancelled
//! by a recovery conflict is run again at once on another replica or the
//! primary; the replica is marked down and serves again when a check
//! reaches it. A read that finds a replica's pool busy for [`REPLICA_WAIT`]
//! moves on the same way, without marking it down.

use std::collections::HashMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use async_trait::async_trait;
use diesel::PgConnection;
use diesel::prelude::*;
use diesel::result::{DatabaseErrorKind, Error as DieselError};
use diesel::sql_types::{Nullable, Text};
use minifb_application::StoreError;
use minifb_application::consistency::{ReadReplicas, ReadScope, ReplicaState, ReplicaStatus};
use minifb_domain::UserKey;
use tokio::sync::{Notify, watch};

use crate::pool::{
    Pool, PoolSettings, RunError, connect_replica, run, run_on, store_error, task_failed,
};

/// The channel on which writers' positions are announced.
pub const WRITES_CHANNEL: &str = "minifb_writes";

/// The `application_name` of each process's connection that listens on
/// [`WRITES_CHANNEL`].
pub const LISTENER_NAME: &str = "minifb write positions";
/// How often each process checks its replicas.
pub const CHECK_EVERY: Duration = Duration::from_secs(1);
/// Longest wait for a check's statement; a replica that takes longer is
/// down for this round.
const CHECK_TIMEOUT: Duration = Duration::from_secs(1);
/// Longest wait for a listener sync; past it the read goes to the primary.
const SYNC_WAIT: Duration = Duration::from_secs(1);
/// Longest wait for a replica connection: a replica whose pool is
/// exhausted, or that does not accept connections, sends the read to the
/// primary rather than hold it.
const REPLICA_WAIT: Duration = Duration::from_secs(1);

/// The primary's pool, and the replicas when there are any.
#[derive(Clone)]
pub struct Database {
    primary: Pool,
    replicas: Option<Arc<Replicas>>,
}

impl From<Pool> for Database {
    /// Everything on this one pool.
    fn from(primary: Pool) -> Self {
        Self {
            primary,
            replicas: None,
        }
    }
}

impl Database {
    /// The primary's pool (migrations, health, the live feed).
    pub fn primary(&self) -> &Pool {
        &self.primary
    }
}

/// Runs `query` on the primary.
pub(crate) async fn write<T, F>(db: &Database, query: F) -> Result<T, StoreError>
where
    F: FnOnce(&mut PgConnection) -> Result<T, DieselError> + Send + 'static,
    T: Send + 'static,
{
    run(&db.primary, query).await
}

/// Runs `query` on a replica that may answer the current request (see the
/// module's documentation), else on the primary. The query may run twice (a
/// replica failed it), hence `Fn + Clone`.
pub(crate) async fn read<T, F>(db: &Database, query: F) -> Result<T, StoreError>
where
    F: Fn(&mut PgConnection) -> Result<T, DieselError> + Clone + Send + 'static,
    T: Send + 'static,
{
    if let Some(replicas) = &db.replicas
        && let Some(scope) = ReadScope::current()
        && let Some(answer) = replicas.read(&scope, query.clone()).await
    {
        metrics::counter!("db_reads_total", "target" => "replica").increment(1);
        return answer;
    }
    metrics::counter!("db_reads_total", "target" => "primary").increment(1);
    run(&db.primary, query).await
}

/// A position in the write-ahead log.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Default)]
pub struct Lsn(u64);

impl Lsn {
    /// PostgreSQL's text form, `16/B374D848` (two hexadecimal halves).
    pub fn parse(text: &str) -> Option<Self> {
        let (high, low) = text.trim().split_once('/')?;
        let high = u32::from_str_radix(high, 16).ok()?;
        let low = u32::from_str_radix(low, 16).ok()?;
        Some(Self((u64::from(high) << 32) | u64::from(low)))
    }
}

impl std::fmt::Display for Lsn {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{:X}/{:X}", self.0 >> 32, self.0 & 0xFFFF_FFFF)
    }
}

/// How far behind the primary a replica is (see the module's
/// documentation); `None` when it cannot be told (the server is not
/// replaying, or nothing is known yet).
pub fn replica_lag(
    primary: Option<Lsn>,
    replay: Option<Lsn>,
    since_last_replayed_commit: Option<Duration>,
    since_caught_up: Option<Duration>,
) -> Option<Duration> {
    let replay = replay?;
    if primary.is_some_and(|primary| replay >= primary) {
        return Some(Duration::ZERO);
    }
    [since_last_replayed_commit, since_caught_up]
        .into_iter()
        .flatten()
        .min()
}

/// `host:port` of a PostgreSQL URL, for labels and logs: never the user,
/// password, database or options.
pub fn replica_label(url: &str) -> String {
    let rest = url.split_once("://").map_or(url, |(_, rest)| rest);
    let query = rest.split_once('?').map_or("", |(_, query)| query);
    let parameter = |name: &str| {
        query
            .split('&')
            .find_map(|pair| pair.strip_prefix(name)?.strip_prefix('='))
            .filter(|value| !value.is_empty())
    };
    let authority = rest.split(['/', '?']).next().unwrap_or_default();
    let host = authority
        .rsplit_once('@')
        .map_or(authority, |(_, host)| host);
    // A socket directory (`?host=/run/pg`) names the server when the URL
    // has no host of its own.
    if host.is_empty()
        && let Some(socket) = parameter("host")
    {
        return format!("{socket}:{}", parameter("port").unwrap_or("5432"));
    }
    let host = if host.is_empty() { "localhost" } else { host };
    let has_port = match host.rsplit_once(':') {
        // `[::1]` has colons but no port; `[::1]:5433` has one.
        Some((before, port)) => {
            !port.is_empty()
                && port.bytes().all(|b| b.is_ascii_digit())
                && (!before.contains(':') || before.ends_with(']'))
        }
        None => false,
    };
    if has_port {
        host.to_owned()
    } else {
        format!("{host}:5432")
    }
}

/// Whether a replica's failure of a statement is the replica's (it is
/// gone, or cancelled the read to replay), so that the read is answered
/// elsewhere, rather than the statement's own.
pub(crate) fn replica_failed(error: &DieselError) -> bool {
    match error {
        DieselError::DatabaseError(kind, info) => {
            let message = info.message();
            matches!(
                kind,
                DatabaseErrorKind::ClosedConnection
                    | DatabaseErrorKind::UnableToSendCommand
                    // SQLSTATE 40001: "canceling statement due to conflict
                    // with recovery" (a read-only read has no other cause).
                    | DatabaseErrorKind::SerializationFailure
            ) || message.contains("conflict with recovery")
                || message.contains("terminating connection")
                || message.contains("server closed the connection")
                || message.contains("no connection to the server")
        }
        DieselError::BrokenTransactionManager => true,
        _ => false,
    }
}

/// What one replica's try of a read came to.
enum Attempt<T> {
    Answered(Result<T, StoreError>),
    /// The replica failed it; why, for the log.
    Failed(String),
    /// No connection was free in time.
    Busy,
}

/// One replica and what the last check saw.
struct Replica {
    label: String,
    pool: Pool,
    health: Mutex<Health>,
}

#[derive(Debug, Clone, Copy, Default)]
struct Health {
    /// Whether a check has reached it since this process started.
    checked: bool,
    up: bool,
    replay: Option<Lsn>,
    lag: Option<Duration>,
    caught_up_at: Option<Instant>,
}

impl Replica {
    fn health(&self) -> MutexGuard<'_, Health> {
        self.health.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Whether it may serve a read that needs position `needed`.
    fn serves(&self, needed: Lsn, max_lag: Duration) -> bool {
        let health = *self.health();
        health.up
            && health.lag.is_some_and(|lag| lag <= max_lag)
            && health.replay.is_some_and(|replay| replay >= needed)
    }

    fn status(&self, max_lag: Duration) -> ReplicaStatus {
        let health = *self.health();
        let state = if !health.up {
            ReplicaState::Down
        } else if health.lag.is_some_and(|lag| lag <= max_lag) {
            ReplicaState::Serving
        } else {
            ReplicaState::Lagging
        };
        ReplicaStatus {
            replica: self.label.clone(),
            state,
            lag: health.lag,
            replayed: health.replay.map(|lsn| lsn.to_string()),
        }
    }

    async fn try_read<T, F>(&self, query: F) -> Attempt<T>
    where
        F: FnOnce(&mut PgConnection) -> Result<T, DieselError> + Send + 'static,
        T: Send + 'static,
    {
        match run_on(&self.pool, query).await {
            Ok(Ok(value)) => Attempt::Answered(Ok(value)),
            Ok(Err(error)) if replica_failed(&error) => Attempt::Failed(error.to_string()),
            Ok(Err(error)) => Attempt::Answered(Err(store_error(error))),
            Err(RunError::Checkout(deadpool_diesel::PoolError::Timeout(_))) => Attempt::Busy,
            Err(RunError::Checkout(error)) => Attempt::Failed(error.to_string()),
            Err(RunError::Task(error)) => Attempt::Answered(Err(task_failed(error))),
        }
    }

    /// Serves nobody until a check reaches it again; its idle connections
    /// are dropped (checkouts do not ping, and what failed one read has
    /// likely broken them all).
    fn mark_down(&self, why: &str) {
        let was_up = std::mem::replace(&mut self.health().up, false);
        self.pool.retain(|_, _| false);
        metrics::gauge!("db_replica_up", "replica" => self.label.clone()).set(0.0);
        if was_up {
            tracing::warn!(replica = %self.label, why, "replica marked down; reads go elsewhere");
        }
    }
}

/// Who wrote up to where, as this process has heard.
#[derive(Debug, Default)]
struct Positions {
    /// Whether the listener is connected; if not, nothing here is complete.
    listening: bool,
    /// Every signed-in read needs this much: the primary's position when
    /// the listener (re)connected, since writes before it may be unheard.
    floor: Lsn,
    by_user: HashMap<UserKey, Lsn>,
}

impl Positions {
    fn heard(&mut self, payload: &str) -> bool {
        let Some((user, position)) = payload.rsplit_once(' ') else {
            return false;
        };
        let Some(position) = Lsn::parse(position) else {
            return false;
        };
        let known = self.by_user.entry(UserKey::claimed(user)).or_default();
        *known = (*known).max(position);
        true
    }

    /// What a read by `reader` needs, or `None` if this process cannot
    /// tell (its listener is not connected).
    fn needed_by(&self, reader: &UserKey) -> Option<Lsn> {
        if !self.listening {
            return None;
        }
        let own = self.by_user.get(reader).copied().unwrap_or_default();
        Some(own.max(self.floor))
    }

    /// Forgets what every replica has replayed.
    fn prune(&mut self, replayed_everywhere: Lsn) {
        self.by_user
            .retain(|_, position| *position > replayed_everywhere);
        if self.floor <= replayed_everywhere {
            self.floor = Lsn::default();
        }
    }
}

/// Listener syncs, shared by the readers waiting at once.
#[derive(Default)]
struct Syncs {
    rounds: Mutex<SyncRounds>,
    wake: Notify,
    done: watch::Sender<u64>,
}

#[derive(Debug, Default)]
struct SyncRounds {
    wanted: u64,
    started: u64,
}

impl Syncs {
    fn rounds(&self) -> MutexGuard<'_, SyncRounds> {
        self.rounds.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Waits for a sync that starts after this call; `false` if none
    /// completed within [`SYNC_WAIT`].
    async fn wait(&self) -> bool {
        let needed = {
            let mut rounds = self.rounds();
            rounds.wanted = rounds.started + 1;
            rounds.wanted
        };
        let mut done = self.done.subscribe();
        self.wake.notify_one();
        matches!(
            tokio::time::timeout(SYNC_WAIT, done.wait_for(|&done| done >= needed)).await,
            Ok(Ok(_))
        )
    }

    /// The next round to run, if a reader wants one.
    fn start(&self) -> Option<u64> {
        let mut rounds = self.rounds();
        (rounds.wanted > rounds.started).then(|| {
            rounds.started += 1;
            rounds.started
        })
    }
}

/// The replicas of one process, their checks and the writers' positions.
#[derive(Clone)]
pub struct PgReplicas {
    inner: Arc<Replicas>,
}

struct Replicas {
    primary: Pool,
    database_url: String,
    max_lag: Duration,
    members: Vec<Replica>,
    next: AtomicUsize,
    positions: Mutex<Positions>,
    syncs: Syncs,
    closing: watch::Sender<bool>,
}

impl PgReplicas {
    /// A pool per replica URL, sized and timed as `settings` says (each
    /// connection read-only). Nothing is checked until [`Self::run`]: till
    /// then every read goes to the primary.
    pub fn connect(
        primary: Pool,
        database_url: &str,
        replica_urls: &[String],
        max_lag: Duration,
        settings: PoolSettings,
    ) -> anyhow::Result<Self> {
        let settings = PoolSettings {
            wait: settings.wait.min(REPLICA_WAIT),
            ..settings
        };
        let members = replica_urls
            .iter()
            .map(|url| {
                let label = replica_label(url);
                metrics::gauge!("db_replica_up", "replica" => label.clone()).set(0.0);
                Ok(Replica {
                    pool: connect_replica(url, settings)?,
                    label,
                    health: Mutex::default(),
                })
            })
            .collect::<anyhow::Result<_>>()?;
        let (closing, _) = watch::channel(false);
        Ok(Self {
            inner: Arc::new(Replicas {
                primary,
                database_url: database_url.to_owned(),
                max_lag,
                members,
                next: AtomicUsize::new(0),
                positions: Mutex::default(),
                syncs: Syncs::default(),
                closing,
            }),
        })
    }

    /// The [`Database`] whose reads may go to these replicas.
    pub fn database(&self) -> Database {
        Database {
            primary: self.inner.primary.clone(),
            replicas: Some(Arc::clone(&self.inner)),
        }
    }

    /// Checks the replicas every second and listens for writers'
    /// positions, until [`Self::close`].
    pub async fn run(self) {
        tokio::join!(self.inner.check_forever(), self.inner.listen_forever());
    }

    /// Ends [`Self::run`]: the replicas are no longer checked, and
    /// signed-in reads go to the primary from then on.
    pub fn close(&self) {
        self.inner.closing.send_replace(true);
        self.inner.positions().listening = false;
    }
}

impl Replicas {
    fn positions(&self) -> MutexGuard<'_, Positions> {
        self.positions.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// A replica's answer, or `None` when no replica may answer (then the
    /// primary does).
    async fn read<T, F>(&self, scope: &ReadScope, query: F) -> Option<Result<T, StoreError>>
    where
        F: Fn(&mut PgConnection) -> Result<T, DieselError> + Clone + Send + 'static,
        T: Send + 'static,
    {
        // No sync is paid for when no replica could take the read anyway.
        if !self
            .members
            .iter()
            .any(|replica| replica.serves(Lsn::default(), self.max_lag))
        {
            return None;
        }
        let needed = match &scope.reader {
            None => Lsn::default(),
            Some(reader) => {
                if !self.positions().listening || !self.syncs.wait().await {
                    return None;
                }
                self.positions().needed_by(reader)?
            }
        };
        let count = self.members.len();
        let first = self.next.fetch_add(1, Ordering::Relaxed);
        for offset in 0..count {
            let replica = &self.members[(first + offset) % count];
            if !replica.serves(needed, self.max_lag) {
                continue;
            }
            match replica.try_read(query.clone()).await {
                Attempt::Answered(answer) => return Some(answer),
                Attempt::Failed(why) => replica.mark_down(&why),
                Attempt::Busy => {}
            }
        }
        None
    }

    async fn check_forever(&self) {
        let mut closing = self.closing.subscribe();
        let mut checks = tokio::time::interval(CHECK_EVERY);
        checks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tokio::select! {
                _ = checks.tick() => self.check().await,
                _ = async { closing.wait_for(|closed| *closed).await.is_ok() } => return,
            }
        }
    }

    /// One round: the primary's position, then each replica's.
    async fn check(&self) {
        let asked = Instant::now();
        let primary = tokio::time::timeout(
            CHECK_TIMEOUT,
            run(&self.primary, |conn| {
                diesel::sql_query("SELECT pg_current_wal_lsn()::text AS position")
                    .get_result::<PrimaryRow>(conn)
            }),
        )
        .await;
        let primary = match primary {
            Ok(Ok(row)) => Lsn::parse(&row.position),
            Ok(Err(error)) => {
                tracing::warn!(%error, "replica check: the primary's position is unknown");
                None
            }
            Err(_) => None,
        };
        for replica in &self.members {
            let seen = tokio::time::timeout(
                CHECK_TIMEOUT,
                run(&replica.pool, |conn| {
                    diesel::sql_query(
                        "SELECT pg_last_wal_replay_lsn()::text AS replay, \
                         extract(epoch FROM now() - pg_last_xact_replay_timestamp())::float8 \
                         AS since_commit",
                    )
                    .get_result::<ReplayRow>(conn)
                }),
            )
            .await;
            match seen {
                Ok(Ok(row)) => self.seen(replica, primary, asked, &row),
                Ok(Err(error)) => replica.mark_down(&error.to_string()),
                Err(_) => replica.mark_down("the check timed out"),
            }
        }
        let replayed_everywhere = self
            .members
            .iter()
            .map(|replica| replica.health().replay)
            .min()
            .flatten();
        if let Some(replayed) = replayed_everywhere {
            self.positions().prune(replayed);
        }
    }

    fn seen(&self, replica: &Replica, primary: Option<Lsn>, asked: Instant, row: &ReplayRow) {
        let replay = row.replay.as_deref().and_then(Lsn::parse);
        let mut health = replica.health();
        let (was_up, checked) = (health.up, std::mem::replace(&mut health.checked, true));
        if primary.is_some_and(|primary| replay.is_some_and(|replay| replay >= primary)) {
            // It had then all the primary had when asked.
            health.caught_up_at = Some(asked);
        }
        let since_commit = row
            .since_commit
            .filter(|seconds| seconds.is_finite())
            .map(|seconds| Duration::from_secs_f64(seconds.max(0.0)));
        let since_caught_up = health.caught_up_at.map(|at| at.elapsed());
        health.lag = replica_lag(primary, replay, since_commit, since_caught_up);
        health.replay = health.replay.max(replay);
        health.up = replay.is_some();
        let (up, lag) = (health.up, health.lag);
        drop(health);
        let label = replica.label.clone();
        metrics::gauge!("db_replica_up", "replica" => label.clone()).set(if up {
            1.0
        } else {
            0.0
        });
        if let Some(lag) = lag {
            metrics::gauge!("db_replica_lag_seconds", "replica" => label).set(lag.as_secs_f64());
        }
        if up && !was_up {
            tracing::info!(replica = %replica.label, "replica answers; it serves reads within the lag bound");
        } else if !up && (was_up || !checked) {
            tracing::warn!(replica = %replica.label, "not a replica: it is not replaying WAL");
        }
    }

    /// The listening connection, reconnected with backoff until closing.
    async fn listen_forever(self: &Arc<Self>) {
        let mut closing = self.closing.subscribe();
        let mut backoff = Duration::from_millis(100);
        loop {
            tokio::select! {
                result = self.listen(&mut backoff) => {
                    self.positions().listening = false;
                    if let Err(error) = result {
                        tracing::warn!(%error, retry_in_ms = backoff.as_millis() as u64, "the writers' position listener lost its connection");
                    }
                }
                _ = async { closing.wait_for(|closed| *closed).await.is_ok() } => return,
            }
            self.positions().listening = false;
            tokio::select! {
                () = tokio::time::sleep(backoff) => {}
                _ = async { closing.wait_for(|closed| *closed).await.is_ok() } => return,
            }
            backoff = (backoff * 2).min(Duration::from_secs(5));
        }
    }

    /// One listening session: connect, `LISTEN`, set the floor, then run
    /// syncs as readers ask for them, until the connection ends.
    async fn listen(self: &Arc<Self>, backoff: &mut Duration) -> anyhow::Result<()> {
        let mut config: tokio_postgres::Config = self.database_url.parse()?;
        // Named, so that an operator can tell it apart in pg_stat_activity.
        config.application_name(LISTENER_NAME);
        let (client, mut connection) = config.connect(tokio_postgres::NoTls).await?;
        // Each notification is recorded by the task that reads the
        // connection, before it reads what follows: so when a sync's
        // answer reaches `client`, every notification before it is in.
        let (ended_tx, mut ended) = tokio::sync::oneshot::channel();
        let driver = {
            let positions = Arc::clone(self);
            tokio::spawn(async move {
                let error = loop {
                    match std::future::poll_fn(|cx| connection.poll_message(cx)).await {
                        Some(Ok(tokio_postgres::AsyncMessage::Notification(notification))) => {
                            if !positions.positions().heard(notification.payload()) {
                                tracing::warn!("unreadable writer position");
                            }
                        }
                        Some(Ok(_)) => {}
                        Some(Err(error)) => break Some(error),
                        None => break None,
                    }
                };
                ended_tx.send(error).ok();
            })
        };
        let _abort = AbortOnDrop(driver);
        client
            .batch_execute(&format!("LISTEN {WRITES_CHANNEL}"))
            .await?;
        let row = client
            .query_one("SELECT pg_current_wal_insert_lsn()::text", &[])
            .await?;
        let floor = Lsn::parse(row.try_get(0)?)
            .ok_or_else(|| anyhow::anyhow!("unreadable WAL position"))?;
        {
            let mut positions = self.positions();
            positions.floor = positions.floor.max(floor);
            positions.listening = true;
        }
        *backoff = Duration::from_millis(100);
        tracing::info!("listening for writers' positions");
        loop {
            while let Some(round) = self.syncs.start() {
                client.batch_execute("SELECT 1").await?;
                self.syncs.done.send_replace(round);
            }
            tokio::select! {
                () = self.syncs.wake.notified() => {}
                ended = &mut ended => {
                    match ended.ok().flatten() {
                        Some(error) => return Err(error.into()),
                        None => anyhow::bail!("the listening connection closed"),
                    }
                }
            }
        }
    }
}

#[derive(QueryableByName)]
struct PrimaryRow {
    #[diesel(sql_type = Text)]
    position: String,
}

#[derive(QueryableByName)]
struct ReplayRow {
    #[diesel(sql_type = Nullable<Text>)]
    replay: Option<String>,
    #[diesel(sql_type = Nullable<diesel::sql_types::Double>)]
    since_commit: Option<f64>,
}

struct AbortOnDrop(tokio::task::JoinHandle<()>);

impl Drop for AbortOnDrop {
    fn drop(&mut self) {
        self.0.abort();
    }
}

#[async_trait]
impl ReadReplicas for PgReplicas {
    fn enabled(&self) -> bool {
        true
    }

    fn replicas(&self) -> Vec<ReplicaStatus> {
        self.inner
            .members
            .iter()
            .map(|replica| replica.status(self.inner.max_lag))
            .collect()
    }

    async fn wrote(&self, writer: &UserKey) -> Result<(), StoreError> {
        let writer = writer.as_str().to_owned();
        run(&self.inner.primary, move |conn| {
            diesel::sql_query(
                "SELECT pg_notify($1, $2 || ' ' || pg_current_wal_insert_lsn()::text)",
            )
            .bind::<Text, _>(WRITES_CHANNEL)
            .bind::<Text, _>(writer)
            .execute(conn)
            .map(drop)
        })
        .await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const S: fn(u64) -> Option<Duration> = |s| Some(Duration::from_secs(s));

    #[test]
    fn positions_parse_as_postgresql_writes_them() {
        assert_eq!(Lsn::parse("0/0"), Some(Lsn(0)));
        assert_eq!(Lsn::parse("16/B374D848"), Some(Lsn(0x16_B374_D848)));
        assert!(Lsn::parse("1/0") > Lsn::parse("0/FFFFFFFF"));
        assert_eq!(Lsn(0x16_B374_D848).to_string(), "16/B374D848");
        for bad in ["", "16", "16/", "/1", "x/1", "1/2/3", "100000000/0"] {
            assert_eq!(Lsn::parse(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn lag_is_zero_once_the_primarys_position_is_replayed_however_old_the_last_commit() {
        let (at, before) = (Lsn::parse("1/10"), Lsn::parse("1/8"));
        // (primary, replay, since its last replayed commit, since caught up, lag)
        let cases = [
            (at, at, S(3600), None, S(0)),
            (before, at, S(3600), S(60), S(0)),
            (at, before, S(3600), S(2), S(2)),
            (at, before, S(3), S(60), S(3)),
            (at, before, None, None, None),
            (None, before, S(4), None, S(4)),
            (at, None, S(1), S(1), None),
        ];
        for (primary, replay, since_commit, since_caught_up, lag) in cases {
            assert_eq!(
                replica_lag(primary, replay, since_commit, since_caught_up),
                lag,
                "{primary:?} {replay:?} {since_commit:?} {since_caught_up:?}"
            );
        }
    }

    #[test]
    fn labels_name_host_and_port_and_never_a_credential() {
        let cases = [
            (
                "postgres://minifb:secret@db-2.internal:5433/minifb",
                "db-2.internal:5433",
            ),
            (
                "postgresql://u:p@10.0.0.7/minifb?sslmode=disable",
                "10.0.0.7:5432",
            ),
            ("postgres://replica", "replica:5432"),
            ("postgres://u:p%40ss@[::1]:5434/db", "[::1]:5434"),
            ("postgres://u@[::1]/db", "[::1]:5432"),
            ("postgres:///minifb", "localhost:5432"),
            ("postgresql://postgres@/db?host=/tmp/sb", "/tmp/sb:5432"),
            (
                "postgresql://u:pw@/db?sslmode=disable&host=/run/pg&port=5433",
                "/run/pg:5433",
            ),
        ];
        for (url, label) in cases {
            assert_eq!(replica_label(url), label, "{url}");
        }
    }

    fn database_error(kind: DatabaseErrorKind, message: &str) -> DieselError {
        DieselError::DatabaseError(kind, Box::new(message.to_owned()))
    }

    #[test]
    fn a_replica_that_went_away_or_cancelled_for_recovery_sends_the_read_elsewhere() {
        let elsewhere = [
            database_error(
                DatabaseErrorKind::SerializationFailure,
                "canceling statement due to conflict with recovery",
            ),
            database_error(
                DatabaseErrorKind::Unknown,
                "terminating connection due to conflict with recovery",
            ),
            database_error(
                DatabaseErrorKind::Unknown,
                "server closed the connection unexpectedly",
            ),
            database_error(DatabaseErrorKind::ClosedConnection, "gone"),
            database_error(DatabaseErrorKind::UnableToSendCommand, "broken pipe"),
            DieselError::BrokenTransactionManager,
        ];
        for error in &elsewhere {
            assert!(replica_failed(error), "{error:?}");
        }
        let own = [
            database_error(
                DatabaseErrorKind::Unknown,
                "canceling statement due to statement timeout",
            ),
            DieselError::NotFound,
            DieselError::DeserializationError("bad".into()),
        ];
        for error in &own {
            assert!(!replica_failed(error), "{error:?}");
        }
    }

    #[test]
    fn a_signed_in_read_needs_its_own_last_write_and_the_floor() {
        let alice = UserKey::claimed("Alice");
        let mut positions = Positions::default();
        assert_eq!(positions.needed_by(&alice), None, "not listening yet");
        positions.listening = true;
        positions.floor = Lsn(5);
        assert_eq!(positions.needed_by(&alice), Some(Lsn(5)));
        assert!(positions.heard("alice 0/20"));
        assert!(
            positions.heard("alice 0/10"),
            "an older position is no news"
        );
        assert!(!positions.heard("alice"));
        assert!(!positions.heard("alice 0/zz"));
        assert_eq!(positions.needed_by(&alice), Some(Lsn(0x20)));
        assert_eq!(positions.needed_by(&UserKey::claimed("bob")), Some(Lsn(5)));
        positions.prune(Lsn(0x1F));
        assert_eq!(positions.needed_by(&alice), Some(Lsn(0x20)));
        assert_eq!(positions.floor, Lsn(0));
        positions.prune(Lsn(0x20));
        assert!(positions.by_user.is_empty());
    }

    #[tokio::test(start_paused = true)]
    async fn readers_waiting_at_once_share_one_sync() {
        let syncs = Arc::new(Syncs::default());
        let waiting: Vec<_> = (0..3)
            .map(|_| {
                tokio::spawn({
                    let syncs = Arc::clone(&syncs);
                    async move { syncs.wait().await }
                })
            })
            .collect();
        tokio::task::yield_now().await;
        let round = syncs.start();
        assert_eq!(round, Some(1));
        assert_eq!(syncs.start(), None, "one round covers them all");
        // A reader arriving while that round runs needs the next one.
        let late = tokio::spawn({
            let syncs = Arc::clone(&syncs);
            async move { syncs.wait().await }
        });
        tokio::task::yield_now().await;
        syncs.done.send_replace(1);
        for waiter in waiting {
            assert!(waiter.await.unwrap());
        }
        assert_eq!(syncs.start(), Some(2));
        syncs.done.send_replace(2);
        assert!(late.await.unwrap());
        // Nobody runs the next round: the reader gives up (to the primary).
        assert!(!syncs.wait().await);
    }
}
