//! Group commit: device pushes from every connection, committed together.
//!
//! A push is acknowledged only after the hub's SQLite commit, and with
//! `synchronous = FULL` every commit waits for the disk (an fsync of the
//! WAL) — on a busy hub several times longer than admitting the push itself.
//! Committed one by one, hundreds of connected devices queued behind each
//! other's fsyncs. So pushes go to one committer thread: while it commits a
//! batch, the pushes that arrive wait, and the next transaction takes all of
//! them — one fsync for many pushes. A push that arrives at an idle hub is
//! committed at once, alone.
//!
//! Each push runs in its own savepoint: one that fails (a stored document
//! that no longer loads, a database error, a panic in a library) is rolled
//! back alone and only its device gets the error; the others in the batch
//! commit. Refusals are not failures: they are quarantined inside the push's
//! savepoint like any other write. A caller returns only once the commit that
//! holds its push has returned, and the batch's changes reach the cache and
//! the commit listener before the writer lock is released, so the next
//! transaction and the live connections see them in sequence order.

use std::collections::BTreeMap;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::{Arc, Weak, mpsc};
use std::time::Instant;

use automerge::Automerge;
use client_core::ids::DocId;
use client_core::sync::hub::{Committed, DeviceIdentity};
use client_core::sync::protocol::{DocResult, Push};
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use prometheus_client::registry::Registry;
use rusqlite::{Transaction, TransactionBehavior};

use super::documents::AdmittedPush;
use super::{Inner, Result, Store, StoreError};

/// Pushes one transaction takes at most, and about how many bytes: a bound
/// on what one commit holds in memory and on how long it holds the writer.
const MAX_BATCH_PUSHES: usize = 256;
const MAX_BATCH_BYTES: usize = 16 * 1024 * 1024;

/// What a committed push returns to its connection.
#[derive(Debug)]
pub struct Pushed {
    pub results: Vec<DocResult>,
    pub committed: Vec<Committed>,
}

pub(super) struct Request {
    device: DeviceIdentity,
    push: Push,
    reply: mpsc::SyncSender<Result<Pushed>>,
    /// The submitting connection's span, so what the committer logs about
    /// this push carries its request id.
    span: tracing::Span,
}

impl Request {
    /// A push and where its answer goes.
    pub(super) fn new(
        device: DeviceIdentity,
        push: Push,
    ) -> (Request, mpsc::Receiver<Result<Pushed>>) {
        let (reply, answer) = mpsc::sync_channel(1);
        (
            Request {
                device,
                push,
                reply,
                span: tracing::Span::current(),
            },
            answer,
        )
    }

    fn bytes(&self) -> usize {
        self.push.docs.iter().map(|d| d.bytes.len()).sum()
    }
}

/// The committer's side of the store: where pushes are handed over.
pub(super) struct Committer {
    requests: mpsc::Sender<Request>,
    stats: Stats,
}

/// How many transactions committed pushes, how many pushes they held, and
/// how long each took (`/metrics`).
#[derive(Debug)]
struct Stats {
    commits: Counter,
    pushes: Counter,
    seconds: Histogram,
}

impl Default for Stats {
    fn default() -> Self {
        Stats {
            commits: Counter::default(),
            pushes: Counter::default(),
            // From a tenth of a millisecond to about three seconds.
            seconds: Histogram::new(exponential_buckets(0.0001, 2.0, 15)),
        }
    }
}

/// Pushes committed since the hub started, and the transactions that held
/// them (their ratio is the mean batch size).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct GroupCommits {
    pub commits: u64,
    pub pushes: u64,
}

/// The receiving end, until [`Committer::start`] gives it to the thread.
pub(super) struct Pending(mpsc::Receiver<Request>);

impl Committer {
    pub(super) fn new() -> (Committer, Pending) {
        let (requests, receiver) = mpsc::channel();
        let committer = Committer {
            requests,
            stats: Stats::default(),
        };
        (committer, Pending(receiver))
    }

    /// Starts the committer thread. It holds the store weakly and ends when
    /// the last handle to the store is dropped.
    pub(super) fn start(inner: &Arc<Inner>, pending: Pending) -> std::io::Result<()> {
        let store = Arc::downgrade(inner);
        std::thread::Builder::new()
            .name("motcua-committer".into())
            .spawn(move || run(store, pending.0))?;
        Ok(())
    }

    /// Hands a push to the committer and waits for the commit that holds it.
    pub(super) fn submit(&self, device: DeviceIdentity, push: Push) -> Result<Pushed> {
        let (request, answer) = Request::new(device, push);
        self.requests
            .send(request)
            .map_err(|_| StoreError::Stopped)?;
        // No answer: the commit that held it failed before it could say so.
        answer.recv().map_err(|_| {
            StoreError::CommitFailed("the push was not committed; send it again".into())
        })?
    }

    pub(super) fn stats(&self) -> GroupCommits {
        GroupCommits {
            commits: self.stats.commits.get(),
            pushes: self.stats.pushes.get(),
        }
    }
}

fn run(store: Weak<Inner>, requests: mpsc::Receiver<Request>) {
    while let Ok(first) = requests.recv() {
        // Everything that queued while the last commit was in flight.
        let mut bytes = first.bytes();
        let mut batch = vec![first];
        while batch.len() < MAX_BATCH_PUSHES && bytes < MAX_BATCH_BYTES {
            match requests.try_recv() {
                Ok(request) => {
                    bytes += request.bytes();
                    batch.push(request);
                }
                Err(_) => break,
            }
        }
        let Some(inner) = store.upgrade() else { return };
        let store = Store { inner };
        // A panic outside any one push (in COMMIT, say) must not stop every
        // later commit: its transaction rolls back as it unwinds, its pushes'
        // answers are dropped (they are not acknowledged, so their devices
        // send them again), and the thread goes on with the next batch.
        match catch_unwind(AssertUnwindSafe(|| store.commit_batch(batch))) {
            Ok(answers) => {
                for (request, result) in answers {
                    // A connection that went away no longer waits for its answer.
                    let _ = request.reply.send(result);
                }
            }
            Err(_) => tracing::error!(
                "a group commit failed unexpectedly; its pushes were not acknowledged and will be sent again"
            ),
        }
    }
}

impl Store {
    /// Pushes committed so far and the transactions that held them.
    pub fn group_commits(&self) -> GroupCommits {
        self.inner.committer.stats()
    }

    /// Registers the group commit's figures: transactions, pushes, and the
    /// time each transaction took.
    pub fn register_metrics(&self, registry: &mut Registry) {
        let stats = &self.inner.committer.stats;
        registry.register(
            "motcua_store_push_commits",
            "Transactions that committed device pushes (many pushes share one)",
            stats.commits.clone(),
        );
        registry.register(
            "motcua_store_pushes_committed",
            "Device pushes committed",
            stats.pushes.clone(),
        );
        registry.register(
            "motcua_store_commit_seconds",
            "Seconds one group commit took, from its first push's checks to the durable commit",
            stats.seconds.clone(),
        );
    }

    /// Admits every push of the batch in one transaction, each in its own
    /// savepoint, and commits it. Returns each request with its answer.
    pub(super) fn commit_batch(&self, batch: Vec<Request>) -> Vec<(Request, Result<Pushed>)> {
        if let Err(e) = self.check_space() {
            return fail_all(batch, &e);
        }
        let started = Instant::now();
        let mut writer = self.inner.writer.lock().unwrap_or_else(|p| p.into_inner());
        let tx = match writer.transaction_with_behavior(TransactionBehavior::Immediate) {
            Ok(tx) => tx,
            Err(e) => return fail_all(batch, &e.into()),
        };
        let calendar = self.calendar();
        // Documents as this transaction has written them so far.
        let mut docs: BTreeMap<DocId, Automerge> = BTreeMap::new();
        let mut answers = Vec::with_capacity(batch.len());
        for request in batch {
            match self.admit_in_savepoint(&tx, &docs, &calendar, &request) {
                Ok(Ok(admitted)) => {
                    docs.extend(admitted.docs);
                    let pushed = Pushed {
                        results: admitted.results,
                        committed: admitted.committed,
                    };
                    answers.push((request, Ok(pushed)));
                }
                Ok(Err(e)) => answers.push((request, Err(e))),
                // The savepoint could not be rolled back: nothing in this
                // transaction can be trusted.
                Err(e) => {
                    drop(tx);
                    let mut requests: Vec<Request> = answers.into_iter().map(|(r, _)| r).collect();
                    requests.push(request);
                    return fail_all(requests, &e);
                }
            }
        }
        if let Err(e) = tx.commit() {
            let requests = answers.into_iter().map(|(r, _)| r).collect();
            return fail_all(requests, &e.into());
        }
        // Still under the writer lock: the next transaction loads these
        // documents from the cache, and listeners see the changes in order.
        {
            let mut cache = self.cache();
            for (id, doc) in docs {
                cache.put(id, doc);
            }
        }
        let committed: Vec<Committed> = answers
            .iter()
            .filter_map(|(_, a)| a.as_ref().ok())
            .flat_map(|p| p.committed.iter().cloned())
            .collect();
        self.announce(&committed);
        drop(writer);
        let stats = &self.inner.committer.stats;
        stats.seconds.observe(started.elapsed().as_secs_f64());
        stats.commits.inc();
        stats.pushes.inc_by(answers.len() as u64);
        answers
    }

    /// One push in its own savepoint. The outer error means the savepoint
    /// itself broke; the inner one is this push's failure, rolled back.
    fn admit_in_savepoint(
        &self,
        tx: &Transaction<'_>,
        docs: &BTreeMap<DocId, Automerge>,
        calendar: &client_core::calendar::WorkingCalendar,
        request: &Request,
    ) -> Result<Result<AdmittedPush>> {
        let _span = request.span.enter();
        tx.execute_batch("SAVEPOINT push")?;
        let admitted = catch_unwind(AssertUnwindSafe(|| {
            self.admit_push(tx, docs, calendar, &request.device, &request.push)
        }))
        .unwrap_or_else(|panic| {
            let what = panic
                .downcast_ref::<&str>()
                .map(|s| s.to_string())
                .or_else(|| panic.downcast_ref::<String>().cloned())
                .unwrap_or_default();
            Err(StoreError::PushFailed(what))
        });
        match admitted {
            Ok(admitted) => {
                tx.execute_batch("RELEASE push")?;
                Ok(Ok(admitted))
            }
            Err(e) => {
                tracing::warn!(device = %request.device.device_id, "push rolled back: {e}");
                tx.execute_batch("ROLLBACK TO push; RELEASE push")?;
                Ok(Err(e))
            }
        }
    }
}

/// Every push of a batch that did not commit gets the error; a full disk
/// stays recognisable as one, so devices are told why.
fn fail_all(requests: Vec<Request>, error: &StoreError) -> Vec<(Request, Result<Pushed>)> {
    let message = match error {
        StoreError::DiskFull(m) => m.clone(),
        e => e.to_string(),
    };
    let full = error.is_disk_full();
    requests
        .into_iter()
        .map(|r| {
            let e = if full {
                StoreError::DiskFull(message.clone())
            } else {
                StoreError::CommitFailed(message.clone())
            };
            (r, Err(e))
        })
        .collect()
}
