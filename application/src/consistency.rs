//! Where a read may be served from, decided per request.
//!
//! A use case says *what* it reads; whether the adapter may answer it from
//! a streaming replica, and whose writes it must then reflect, is a fact of
//! the request (a read route, by whom), so it travels with the request's
//! task as a [`ReadScope`] rather than through every port's signature. The
//! HTTP adapter enters a scope around the handlers of the read routes; a
//! storage call made outside any scope (every write, login, the live
//! stream, background work) is served by the primary.

use std::future::Future;
use std::time::Duration;

use async_trait::async_trait;
use minifb_domain::UserKey;

use crate::StoreError;

tokio::task_local! {
    static READ_SCOPE: ReadScope;
}

/// A request whose reads may come from a replica.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReadScope {
    /// The signed-in user whose own writes the reads must show (read
    /// from a replica only once it has replayed them); `None` for an
    /// anonymous read, which may see others' changes up to the lag bound
    /// late.
    pub reader: Option<UserKey>,
}

impl ReadScope {
    /// Runs `work` with this scope as the current one.
    pub async fn enter<F: Future>(self, work: F) -> F::Output {
        READ_SCOPE.scope(self, work).await
    }

    /// The scope of the running task, if it is in one.
    pub fn current() -> Option<Self> {
        READ_SCOPE.try_with(Clone::clone).ok()
    }
}

/// How one replica looks to this process.
#[derive(Debug, Clone, PartialEq)]
pub struct ReplicaStatus {
    /// `host:port` of its URL (never a user name or password).
    pub replica: String,
    pub state: ReplicaState,
    /// How far behind the primary it was at the last check; `None` when
    /// unknown (never reached).
    pub lag: Option<Duration>,
    /// The WAL position it had replayed at the last check, as PostgreSQL
    /// writes it (`16/B374D848`); `None` before the first answer.
    pub replayed: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReplicaState {
    /// Answering and within the lag bound: it serves reads.
    Serving,
    /// Answering but further behind than the lag bound: it serves nobody
    /// until it catches up.
    Lagging,
    /// Not answering (or it failed a read): it serves nobody until the
    /// next check reaches it.
    Down,
}

impl ReplicaState {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Serving => "serving",
            Self::Lagging => "lagging",
            Self::Down => "down",
        }
    }
}

/// The read replicas, as the back office and the write path see them.
#[cfg_attr(any(test, feature = "mocks"), mockall::automock)]
#[async_trait]
pub trait ReadReplicas: Send + Sync {
    /// Whether any replica is configured; without one, nothing else here
    /// does anything.
    fn enabled(&self) -> bool;

    /// Every configured replica, in configuration order.
    fn replicas(&self) -> Vec<ReplicaStatus>;

    /// Records, where every process sees it, that `writer`'s writes
    /// answered so far must show in their later reads. Called after the
    /// write committed and before its answer leaves; with no replica, it
    /// does nothing.
    async fn wrote(&self, writer: &UserKey) -> Result<(), StoreError>;
}

/// [`ReadReplicas`] for a deployment without replicas.
#[derive(Debug, Clone, Copy, Default)]
pub struct NoReplicas;

#[async_trait]
impl ReadReplicas for NoReplicas {
    fn enabled(&self) -> bool {
        false
    }

    fn replicas(&self) -> Vec<ReplicaStatus> {
        Vec::new()
    }

    async fn wrote(&self, _: &UserKey) -> Result<(), StoreError> {
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_scope_is_seen_inside_its_work_only() {
        assert_eq!(ReadScope::current(), None);
        let scope = ReadScope {
            reader: Some(UserKey::claimed("Alice")),
        };
        let seen = scope.clone().enter(async { ReadScope::current() }).await;
        assert_eq!(seen, Some(scope));
        assert_eq!(ReadScope::current(), None);
    }

    #[tokio::test]
    async fn without_replicas_nothing_is_routed_or_recorded() {
        let replicas = NoReplicas;
        assert!(!replicas.enabled());
        assert!(replicas.replicas().is_empty());
        assert!(replicas.wrote(&UserKey::claimed("Alice")).await.is_ok());
    }
}
