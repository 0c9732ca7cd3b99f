//! Realistic counter activity, generated: dossiers received with plausible
//! applicants and procedures, and stages recorded on open dossiers the way a
//! busy counter moves them on. Seeded, so a run can be repeated exactly.
//!
//! `motcua generate` (demos, tests) and the benchmarks' load generator both
//! work through [`Activity`], on any device replica.

use anyhow::Context;
use client_core::calendar::WorkingCalendar;
use client_core::catalogue::Catalogue;
use client_core::codes::CodeIssuer;
use client_core::counter::{self, Clerk, Counter, NewDossier};
use client_core::dossier::{Applicant, Channel};
use client_core::ids::{DocId, IdNumber, PhoneNumber};
use client_core::stage::Stage;
use client_core::sync::replica::{DeviceReplica, Storage};

const FAMILY: &[&str] = &[
    "Nguyễn", "Trần", "Lê", "Phạm", "Hoàng", "Huỳnh", "Phan", "Vũ", "Võ", "Đặng", "Bùi", "Đỗ",
    "Hồ", "Ngô", "Dương", "Lý",
];
const MIDDLE: &[&str] = &[
    "Văn", "Thị", "Minh", "Ngọc", "Thanh", "Quốc", "Thu", "Đức", "Hữu", "Xuân",
];
const GIVEN: &[&str] = &[
    "An", "Bình", "Cường", "Dung", "Giang", "Hà", "Hải", "Hoa", "Hùng", "Khánh", "Lan", "Linh",
    "Mai", "Nam", "Nga", "Phúc", "Quân", "Sơn", "Tâm", "Thảo", "Tuấn", "Vy", "Yến",
];

/// xorshift64*: reproducible from the seed, no dependency.
#[derive(Debug, Clone)]
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Self {
        Rng(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1)
    }

    pub fn next_u64(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    pub fn below(&mut self, n: usize) -> usize {
        (self.next_u64() % n.max(1) as u64) as usize
    }

    pub fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len())]
    }
}

/// A plausible applicant: a Vietnamese name, a CCCD number, a mobile phone.
pub fn applicant(rng: &mut Rng) -> Applicant {
    let name = format!(
        "{} {} {}",
        rng.pick(FAMILY),
        rng.pick(MIDDLE),
        rng.pick(GIVEN)
    );
    let id = format!(
        "0{:02}{}{:08}",
        1 + rng.below(96),
        rng.below(4),
        rng.next_u64() % 100_000_000
    );
    let phone = format!("09{:08}", rng.next_u64() % 100_000_000);
    Applicant {
        full_name: name,
        id_number: IdNumber::parse(&id).expect("generated ID numbers are valid"),
        phone: PhoneNumber::parse(&phone).ok(),
        address: format!("Thôn {}, xã Tân Phong", 1 + rng.below(12)),
    }
}

/// The catalogue and working calendar a device works with: those the hub
/// published once synced, the built-in ones before its first sync.
pub fn catalogue_and_calendar<S: Storage>(
    replica: &mut DeviceReplica<S>,
) -> anyhow::Result<(Catalogue, WorkingCalendar)> {
    use chrono::Datelike;
    let catalogue = counter::catalogue(replica);
    let calendar = counter::calendar(replica, chrono::Utc::now().year())?;
    Ok((catalogue, calendar))
}

/// Who works the counter, and what it knows (catalogue, calendar, codes).
pub struct Activity {
    pub rng: Rng,
    counter: Counter,
    procedures: Vec<String>,
}

impl Activity {
    /// Works with the catalogue and calendar the replica received (the
    /// built-in ones before its first sync).
    pub fn new<S: Storage>(
        replica: &mut DeviceReplica<S>,
        issuer: CodeIssuer,
        device: &str,
        user: &str,
        seed: u64,
    ) -> anyhow::Result<Self> {
        let (catalogue, calendar) = catalogue_and_calendar(replica)?;
        Ok(Self::using(
            catalogue, calendar, replica, issuer, device, user, seed,
        ))
    }

    /// Works with the given catalogue and calendar (many simulated devices
    /// share one).
    pub fn using<S: Storage>(
        catalogue: Catalogue,
        calendar: WorkingCalendar,
        replica: &DeviceReplica<S>,
        issuer: CodeIssuer,
        device: &str,
        user: &str,
        seed: u64,
    ) -> Self {
        let procedures = catalogue.current().iter().map(|p| p.id.clone()).collect();
        let clerk = Clerk {
            user: user.to_string(),
            device: device.to_string(),
            unit: issuer.unit().clone(),
        };
        Self {
            rng: Rng::new(seed),
            counter: Counter::using(catalogue, calendar, replica, clerk, issuer),
            procedures,
        }
    }

    /// Receives a new dossier from a random applicant at `received_at`
    /// (milliseconds), for a random procedure of the catalogue.
    pub fn receive<S: Storage>(
        &mut self,
        replica: &mut DeviceReplica<S>,
        received_at: i64,
    ) -> anyhow::Result<DocId> {
        let dossier = NewDossier {
            procedure_id: self.rng.pick(&self.procedures).clone(),
            applicant: applicant(&mut self.rng),
            documents: None,
            sets: 1,
            channel: if self.rng.below(5) == 0 {
                Channel::Online
            } else {
                Channel::Direct
            },
            fee_paid: true,
            result_delivery: None,
            note: String::new(),
        };
        let done = self
            .counter
            .receive(replica, dossier, received_at)
            .map_err(|e| anyhow::anyhow!("{e}"))?;
        Ok(done.doc_id)
    }

    /// Moves an open dossier on by one stage at `at` (milliseconds): one of
    /// the stages its current one allows, rarely a final one so that most
    /// dossiers stay open. Returns the stage, or `None` when the dossier
    /// cannot move (closed, or unknown here).
    pub fn advance<S: Storage>(
        &mut self,
        replica: &mut DeviceReplica<S>,
        id: &DocId,
        at: i64,
    ) -> anyhow::Result<Option<Stage>> {
        let current = replica
            .meta(id)
            .and_then(|m| m.dossier.as_ref())
            .and_then(|d| d.progress().current);
        let Some(current) = current else {
            return Ok(None);
        };
        let choices: Vec<Stage> = current
            .next_stages()
            .iter()
            .copied()
            .filter(|s| !s.is_final() || self.rng.below(4) == 0)
            .collect();
        if choices.is_empty() {
            return Ok(None);
        }
        let stage = *self.rng.pick(&choices);
        self.counter
            .clerk()
            .record_stage(replica, id, stage, "", at)
            .map_err(|e| anyhow::anyhow!("{e}"))
            .with_context(|| format!("recording a stage on {id}"))?;
        Ok(Some(stage))
    }

    /// Receives a dossier at `received_at` and works it for up to `stages`
    /// more stages, an hour apart (fewer when it closes first): a dossier as
    /// it stands some days after it came in. Returns its id.
    pub fn receive_worked<S: Storage>(
        &mut self,
        replica: &mut DeviceReplica<S>,
        received_at: i64,
        stages: usize,
    ) -> anyhow::Result<DocId> {
        const HOUR: i64 = 3_600_000;
        let id = self.receive(replica, received_at)?;
        for k in 0..stages {
            let at = received_at + HOUR * (k as i64 + 1);
            if self.advance(replica, &id, at)?.is_none() {
                break;
            }
        }
        Ok(id)
    }

    /// The dossiers on the replica that are not closed yet.
    pub fn open_dossiers<S: Storage>(replica: &DeviceReplica<S>) -> Vec<DocId> {
        replica
            .dossiers()
            .filter(|(_, d)| !d.progress().is_closed())
            .map(|(id, _)| *id)
            .collect()
    }
}
