//! Filling a hub with realistic dossiers quickly, for benchmarks and trials
//! at a province's scale (`motcua admin seed-dossiers`, `scripts/bench`).
//!
//! Each unit gets one counter, enrolled like any device, that receives
//! dossiers and records their stages with [`Activity`] on an in-memory
//! replica, as `motcua generate` does on a real device. What that counter
//! would push goes through the store's own commit path
//! ([`Store::commit_push`]: admission, change rows, snapshots, index
//! tables), a thousand documents a transaction rather than a frame at a time
//! over a socket. So the hub ends up holding exactly what real pushes would
//! have left, only sooner. The counters work on every core; the commits are
//! made in order on the caller's thread, since SQLite has one writer.

use std::collections::BTreeSet;
use std::io::Write;
use std::sync::mpsc;

use anyhow::{Context, bail};
use automerge::ActorId;
use client_core::codes::{CodeIssuer, CodeSlot};
use client_core::ids::UnitCode;
use client_core::sync::hub::DeviceIdentity;
use client_core::sync::protocol::{DocChanges, DocOutcome, Hello, Push};
use client_core::sync::replica::{DeviceReplica, MemoryStorage, SyncReplica};

use crate::activity::{Activity, catalogue_and_calendar};
use crate::store::Store;
use crate::store::identity::DeviceKind;

const DAY_MS: i64 = 86_400_000;
/// A device holds at most this many code slots (99 numbers a day each).
const MAX_SLOTS: usize = 10;

/// What to put in the hub.
#[derive(Debug, Clone)]
pub struct SeedPlan {
    /// Dossiers in all, shared out evenly over `units`.
    pub dossiers: usize,
    /// Units that receive them (they must exist at the hub).
    pub units: Vec<UnitCode>,
    /// Dossiers are received over this many past days (more when a unit
    /// receives more than its counter's codes allow in that time).
    pub days: u32,
    /// The same seed makes the same applicants, procedures and stages.
    pub seed: u64,
    /// Documents committed per transaction.
    pub batch: usize,
    /// "Now", in milliseconds: every dossier is received at least a day
    /// before it.
    pub now: i64,
}

impl SeedPlan {
    pub fn new(dossiers: usize, units: Vec<UnitCode>) -> SeedPlan {
        SeedPlan {
            dossiers,
            units,
            days: 365,
            seed: 1,
            batch: 1_000,
            now: chrono::Utc::now().timestamp_millis(),
        }
    }
}

/// What was put in the hub.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Seeded {
    pub dossiers: usize,
    /// The counters' device ids, one per unit, in the order of the plan's
    /// units.
    pub devices: Vec<String>,
}

/// How many dossiers unit `i` of `units` receives out of `total`.
fn share(total: usize, units: usize, i: usize) -> usize {
    total / units + usize::from(i < total % units)
}

/// The code slots a counter needs to receive `dossiers` over `days` days,
/// and the days it takes when even the most slots a device may hold are
/// not enough. Days are drawn at random, so the busiest day gets well above
/// the average: half as many again, and some.
fn slots_and_days(dossiers: usize, days: u32) -> (u8, u32) {
    let needed = |days: u32| (dossiers * 3 / 2 / days.max(1) as usize + 20).div_ceil(99);
    let mut days = days.max(1);
    while needed(days) > MAX_SLOTS {
        days += days.div_ceil(2);
    }
    (needed(days).max(1) as u8, days)
}

/// One unit's counter.
struct Counter {
    identity: DeviceIdentity,
    actor: ActorId,
    activity: Activity,
    days: u32,
    left: usize,
}

/// A batch a counter made, ready to commit.
struct Made {
    counter: usize,
    identity: DeviceIdentity,
    docs: Vec<DocChanges>,
    export: String,
}

impl Counter {
    /// Enrols the counter of `unit` at the hub.
    fn enrol(
        store: &Store,
        unit: &UnitCode,
        dossiers: usize,
        plan: &SeedPlan,
        i: usize,
    ) -> anyhow::Result<Counter> {
        let (slots, days) = slots_and_days(dossiers, plan.days);
        let actor = ActorId::random();
        let name = format!("Quầy dữ liệu mẫu – {unit}");
        let enrolment = store.create_enrolment(unit, &name, slots, DeviceKind::Device, "seed")?;
        let device = store.enrol(&enrolment.code, std::slice::from_ref(&actor))?;
        let hello = Hello {
            token: device.token.clone(),
            since: None,
            actors: vec![actor.to_bytes().to_vec()],
            agent: "motcua seed".into(),
        };
        let identity = match store.authenticate(&hello)? {
            Ok(identity) => identity,
            Err(refused) => bail!("the hub refused the counter of {unit}: {}", refused.message),
        };
        let slots = device
            .code_slots
            .iter()
            .map(|s| CodeSlot::new(*s))
            .collect::<Result<Vec<_>, _>>()?;
        let issuer = CodeIssuer::new(unit.clone(), slots)?;
        let mut replica = Self::replica(&actor)?;
        let (catalogue, calendar) = catalogue_and_calendar(&mut replica)?;
        let seed = plan.seed.wrapping_mul(1_000_003).wrapping_add(i as u64);
        let activity = Activity::using(
            catalogue,
            calendar,
            &replica,
            issuer,
            &device.device_id,
            "canbo",
            seed,
        );
        Ok(Counter {
            identity,
            actor,
            activity,
            days,
            left: dossiers,
        })
    }

    fn replica(actor: &ActorId) -> anyhow::Result<DeviceReplica<MemoryStorage>> {
        DeviceReplica::open(MemoryStorage::new(), actor.clone()).map_err(|e| anyhow::anyhow!("{e}"))
    }

    /// Receives the next `n` dossiers, each worked for 0–8 more stages
    /// (about five stages a dossier in all), on a fresh replica so that
    /// memory stays bounded: the push of those documents, and their export
    /// lines.
    fn next_batch(&mut self, n: usize, now: i64) -> anyhow::Result<(Vec<DocChanges>, String)> {
        let mut replica = Self::replica(&self.actor)?;
        for _ in 0..n {
            // A working hour on one of the past days.
            let days_ago = 1 + self.activity.rng.below(self.days as usize) as i64;
            let seconds = self.activity.rng.below(8 * 3600) as i64;
            let stages = self.activity.rng.below(9);
            self.activity.receive_worked(
                &mut replica,
                now - days_ago * DAY_MS - seconds * 1000,
                stages,
            )?;
        }
        self.left -= n;
        let docs = replica
            .pending(&BTreeSet::new(), usize::MAX)
            .map_err(|e| anyhow::anyhow!("{e}"))?;
        let export = replica
            .dossiers()
            .map(|(id, d)| crate::export::export_line(id, d) + "\n")
            .collect();
        Ok((docs, export))
    }
}

/// Puts `plan.dossiers` realistic dossiers in the hub, writing each one's
/// export line (as `motcua dossier export` would) to `export` when given.
pub fn seed_dossiers(
    store: &Store,
    plan: &SeedPlan,
    mut export: Option<&mut dyn Write>,
) -> anyhow::Result<Seeded> {
    if plan.units.is_empty() {
        bail!("no unit to put dossiers in");
    }
    let mut counters = Vec::with_capacity(plan.units.len());
    for (i, unit) in plan.units.iter().enumerate() {
        let n = share(plan.dossiers, plan.units.len(), i);
        counters.push(
            Counter::enrol(store, unit, n, plan, i)
                .with_context(|| format!("enrolling the counter of {unit}"))?,
        );
    }
    let devices = counters
        .iter()
        .map(|c| c.identity.device_id.clone())
        .collect();
    let workers = std::thread::available_parallelism()
        .map_or(1, |n| n.get())
        .min(counters.len())
        .max(1);
    // Counter i works on thread i % workers.
    let mut shifts: Vec<Vec<(usize, Counter)>> = (0..workers).map(|_| Vec::new()).collect();
    for (i, counter) in counters.into_iter().enumerate() {
        shifts[i % workers].push((i, counter));
    }
    let batch = plan.batch.max(1);
    let now = plan.now;
    let mut committed = 0;
    std::thread::scope(|scope| -> anyhow::Result<()> {
        let (sender, made) = mpsc::sync_channel::<anyhow::Result<Made>>(workers * 2);
        for shift in shifts {
            let sender = sender.clone();
            scope.spawn(move || {
                for (i, mut counter) in shift {
                    while counter.left > 0 {
                        let n = counter.left.min(batch);
                        let result = counter.next_batch(n, now).map(|(docs, export)| Made {
                            counter: i,
                            identity: counter.identity.clone(),
                            docs,
                            export,
                        });
                        let failed = result.is_err();
                        // The receiver is gone when the commits failed.
                        if sender.send(result).is_err() || failed {
                            return;
                        }
                    }
                }
            });
        }
        drop(sender);
        for (number, result) in made.into_iter().enumerate() {
            let made = result?;
            let unit = &plan.units[made.counter];
            let push = Push {
                batch: number as u64,
                docs: made.docs,
            };
            let (results, _) = store.commit_push(&made.identity, push)?;
            for result in &results {
                if let DocOutcome::Refused { reason, message } = &result.outcome {
                    bail!(
                        "the hub refused dossier {} of {unit} ({reason:?}): {message}",
                        result.doc
                    );
                }
            }
            committed += results.len();
            if let Some(out) = export.as_mut() {
                out.write_all(made.export.as_bytes())?;
            }
        }
        Ok(())
    })?;
    Ok(Seeded {
        dossiers: committed,
        devices,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::tests::{province_with, unit};
    use client_core::dossier::DossierDoc;
    use client_core::ids::DocId;

    fn province(dir: &std::path::Path) -> Store {
        province_with(dir, &["X0101", "X0102"])
    }

    const NOW: i64 = 1_795_831_200_000; // 2026-11-28T08:00:00+07:00

    fn plan(dossiers: usize) -> SeedPlan {
        SeedPlan {
            batch: 7,
            now: NOW,
            ..SeedPlan::new(dossiers, vec![unit("X0101"), unit("X0102")])
        }
    }

    #[test]
    fn seeded_dossiers_are_stored_and_indexed_as_pushes_leave_them() {
        let dir = tempfile::tempdir().unwrap();
        let store = province(dir.path());
        let mut export = Vec::new();
        let seeded = seed_dossiers(&store, &plan(31), Some(&mut export)).unwrap();
        assert_eq!(seeded.dossiers, 31);
        assert_eq!(seeded.devices.len(), 2);
        assert_eq!(store.dossier_count().unwrap(), 31);
        assert_eq!(store.verify_index().unwrap(), Vec::<String>::new());

        let per_unit = store.dossiers_per_unit().unwrap();
        assert_eq!(
            per_unit,
            vec![("X0101".to_string(), 16), ("X0102".to_string(), 15)]
        );

        // Each document's one change row came from its unit's counter, and
        // its stored copy reads as the dossier the export describes.
        let lines: Vec<serde_json::Value> = String::from_utf8(export)
            .unwrap()
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect();
        assert_eq!(lines.len(), 31);
        let mut stages = 0;
        for line in &lines {
            let id: DocId = line["doc_id"].as_str().unwrap().parse().unwrap();
            let unit = line["dossier"]["unit"].as_str().unwrap();
            let counter = &seeded.devices[usize::from(unit == "X0102")];
            let origins = store.change_origins(&id).unwrap();
            assert_eq!(&origins, std::slice::from_ref(counter), "{id}");
            let doc = store.load_doc(&id).unwrap().expect("stored");
            let dossier = DossierDoc::read_from(&doc).unwrap();
            assert_eq!(serde_json::to_value(&dossier).unwrap(), line["dossier"]);
            assert!(
                dossier.received_at <= NOW - DAY_MS,
                "received a day ago at least"
            );
            stages += dossier.stages.len();
        }
        // Most dossiers have moved on past their reception.
        assert!(
            stages > 2 * lines.len(),
            "{stages} stages for {} dossiers",
            lines.len()
        );
    }

    #[test]
    fn the_same_seed_makes_the_same_dossiers() {
        let codes = |seed| {
            let dir = tempfile::tempdir().unwrap();
            let store = province(dir.path());
            let mut export = Vec::new();
            seed_dossiers(&store, &SeedPlan { seed, ..plan(12) }, Some(&mut export)).unwrap();
            let mut names: Vec<String> = String::from_utf8(export)
                .unwrap()
                .lines()
                .map(|l| {
                    let v: serde_json::Value = serde_json::from_str(l).unwrap();
                    format!(
                        "{} {}",
                        v["dossier"]["applicant"]["full_name"],
                        v["dossier"]["stages"].as_array().unwrap().len()
                    )
                })
                .collect();
            names.sort();
            names
        };
        assert_eq!(codes(5), codes(5));
        assert_ne!(codes(5), codes(6));
    }

    #[test]
    fn an_unknown_unit_is_refused_with_its_code() {
        let dir = tempfile::tempdir().unwrap();
        let store = province(dir.path());
        let error =
            seed_dossiers(&store, &SeedPlan::new(3, vec![unit("X0999")]), None).unwrap_err();
        assert!(format!("{error:#}").contains("X0999"), "{error:#}");
        assert_eq!(store.dossier_count().unwrap(), 0);
    }

    #[test]
    fn a_busy_unit_gets_the_code_slots_its_busiest_day_needs() {
        // 30 a day on average fits one slot of 99 numbers.
        assert_eq!(slots_and_days(30 * 365, 365), (1, 365));
        // 274 a day needs five slots.
        let (slots, days) = slots_and_days(100_000, 365);
        assert_eq!(days, 365);
        assert!(usize::from(slots) * 99 >= 100_000 * 3 / 2 / 365, "{slots}");
        // Past ten slots, the dossiers are spread over more days instead.
        let (slots, days) = slots_and_days(1_000_000, 365);
        assert!(slots <= 10 && days > 365, "{slots} slots over {days} days");
        assert!(usize::from(slots) * 99 * days as usize >= 1_000_000);
        assert_eq!(
            (0..3).map(|i| share(10, 3, i)).collect::<Vec<_>>(),
            vec![4, 3, 3]
        );
    }
}
