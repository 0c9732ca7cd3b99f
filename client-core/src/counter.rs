//! The counter's operations (bộ phận tiếp nhận và trả kết quả): what a clerk
//! does to the dossiers on a device's own replica, online or not — receive a
//! dossier, record a stage, ask for a supplement, return the result.
//!
//! The web app's device, the `motcua dossier` commands and the generated
//! activity of demos and benchmarks all call these, so a dossier is worked
//! the same way whoever drives it. Nothing here reads a clock: every
//! operation takes its time (`at`, milliseconds) from the caller.
//!
//! - [`catalogue`], [`calendar`], [`units`]: the configuration a device works
//!   with — what the top hub published once synced, the built-in one before.
//! - [`Clerk`]: who records stages, and the stage operations.
//! - [`Counter`]: a clerk with the catalogue, the calendar and this device's
//!   code slots, to receive dossiers.

use automerge::ActorId;
use chrono::Datelike;

use crate::calendar::{CalendarError, WorkingCalendar};
use crate::catalogue::Catalogue;
use crate::codes::{CodeError, CodeIssuer, CodeSlot};
use crate::config::{self, ConfigKind};
use crate::dossier::{Applicant, Channel, HandedDocument, NewStage, ResultDelivery};
use crate::ids::{DocId, DossierCode, UnitCode};
use crate::intake::{self, IntakeError, Received, Reception};
use crate::stage::{Stage, StageEntry};
use crate::sync::replica::{DeviceReplica, ReplicaError, Storage};
use crate::time;
use crate::units::{Unit, UnitTree};

/// Why a counter operation did not happen; nothing was written.
#[derive(Debug, thiserror::Error)]
pub enum CounterError<E: std::fmt::Display> {
    /// No code slot (or a slot that does not exist): dossier codes cannot be
    /// issued here.
    #[error(transparent)]
    Code(#[from] CodeError),
    #[error(transparent)]
    Intake(#[from] IntakeError),
    #[error(transparent)]
    Calendar(#[from] CalendarError),
    #[error("the time {0} is out of range")]
    BadTime(i64),
    /// A supplement request that names no document.
    #[error("a supplement request lists at least one missing document")]
    NothingMissing,
    /// The replica refused the change (unknown dossier, a stage the current
    /// one does not allow, storage).
    #[error(transparent)]
    Replica(#[from] ReplicaError<E>),
}

pub type CounterResult<T, E> = Result<T, CounterError<E>>;

/// The published catalogue once synced; the built-in one before (or when
/// the published one is damaged).
pub fn catalogue<S: Storage>(replica: &mut DeviceReplica<S>) -> Catalogue {
    config::catalogue_or_seed(replica.config_body(ConfigKind::Catalogue).as_deref())
}

/// The published working calendar once synced; the statutory rules around
/// `year` before.
pub fn calendar<S: Storage>(
    replica: &mut DeviceReplica<S>,
    year: i32,
) -> Result<WorkingCalendar, CalendarError> {
    config::calendar_or_seeded(replica.config_body(ConfigKind::Calendar).as_deref(), year)
}

/// The published unit tree, once synced.
pub fn units<S: Storage>(replica: &mut DeviceReplica<S>) -> Option<UnitTree> {
    let json = replica.config_body(ConfigKind::Units)?;
    let units: Vec<Unit> = serde_json::from_str(&json).ok()?;
    UnitTree::new(units).ok()
}

/// The issuer of this device's dossier codes at `unit`, from the slot
/// numbers the hub assigned (none: it cannot receive).
pub fn code_issuer(unit: UnitCode, slots: &[u8]) -> Result<CodeIssuer, CodeError> {
    let slots = slots
        .iter()
        .map(|s| CodeSlot::new(*s))
        .collect::<Result<Vec<_>, _>>()?;
    CodeIssuer::new(unit, slots)
}

/// Who records stages at this device: the user, the device and their unit,
/// written on every entry of the stage log.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Clerk {
    pub user: String,
    pub device: String,
    pub unit: UnitCode,
}

impl Clerk {
    fn entry(&self, stage: Stage, note: &str, at: i64) -> NewStage {
        NewStage {
            stage,
            at,
            user: self.user.clone(),
            device: self.device.clone(),
            unit: self.unit.clone(),
            note: note.to_string(),
        }
    }

    /// Records `stage` on dossier `id` at `at`, if its current stage allows it.
    pub fn record_stage<S: Storage>(
        &self,
        replica: &mut DeviceReplica<S>,
        id: &DocId,
        stage: Stage,
        note: &str,
        at: i64,
    ) -> CounterResult<StageEntry, S::Error> {
        let entry = self.entry(stage, note, at);
        Ok(replica.update(id, |doc| doc.record_stage(entry))?)
    }

    /// Asks the citizen for a supplement (Form 02): the documents still
    /// missing, one item each (blank items are dropped, at least one must
    /// remain), and the clerk's note. The processing clock stops until the
    /// supplement arrives (NĐ 61/2018 art. 20, kept by NĐ 118/2025).
    pub fn request_supplement<S: Storage>(
        &self,
        replica: &mut DeviceReplica<S>,
        id: &DocId,
        missing: &[String],
        note: &str,
        at: i64,
    ) -> CounterResult<StageEntry, S::Error> {
        let missing: Vec<String> = missing
            .iter()
            .map(|m| m.trim())
            .filter(|m| !m.is_empty())
            .map(str::to_string)
            .collect();
        if missing.is_empty() {
            return Err(CounterError::NothingMissing);
        }
        let entry = self.entry(Stage::SupplementRequested, note, at);
        Ok(replica.update(id, |doc| doc.request_supplement(entry, missing))?)
    }

    /// Hands the result to the citizen at `at`. A dossier still being worked
    /// on is first marked done, a millisecond earlier so that the log keeps
    /// the order. Returns the entries recorded.
    pub fn return_result<S: Storage>(
        &self,
        replica: &mut DeviceReplica<S>,
        id: &DocId,
        note: &str,
        at: i64,
    ) -> CounterResult<Vec<StageEntry>, S::Error> {
        let current = replica
            .meta(id)
            .and_then(|m| m.dossier.as_deref())
            .and_then(|d| d.progress().current);
        let mut recorded = Vec::new();
        if let Some(current) = current
            && !current.can_move_to(Stage::ResultReturned)
            && current.can_move_to(Stage::Done)
        {
            recorded.push(self.record_stage(replica, id, Stage::Done, "", at - 1)?);
        }
        recorded.push(self.record_stage(replica, id, Stage::ResultReturned, note, at)?);
        Ok(recorded)
    }
}

/// What the clerk enters for a new dossier; the code, the appointment and
/// the first stage come from the [`Counter`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewDossier {
    pub procedure_id: String,
    pub applicant: Applicant,
    /// The documents handed in; `None` for the procedure's required ones.
    pub documents: Option<Vec<HandedDocument>>,
    pub sets: u32,
    pub channel: Channel,
    pub fee_paid: bool,
    /// Where the result is collected; `None` for this counter.
    pub result_delivery: Option<ResultDelivery>,
    pub note: String,
}

/// A clerk at a device that can receive dossiers: the catalogue and the
/// working calendar it works with, and the codes it has issued.
#[derive(Debug, Clone)]
pub struct Counter {
    clerk: Clerk,
    catalogue: Catalogue,
    calendar: WorkingCalendar,
    issuer: CodeIssuer,
    actor: ActorId,
    /// The codes on the replica, and those issued since: only this
    /// device's own matter (see [`crate::codes`]).
    codes: Vec<DossierCode>,
}

impl Counter {
    /// The counter of `replica`, with the configuration it received (the
    /// built-in one before its first sync) for the year of `now`.
    pub fn open<S: Storage>(
        replica: &mut DeviceReplica<S>,
        clerk: Clerk,
        issuer: CodeIssuer,
        now: i64,
    ) -> CounterResult<Self, S::Error> {
        let year = time::from_millis(now)
            .ok_or(CounterError::BadTime(now))?
            .year();
        let catalogue = catalogue(replica);
        let calendar = calendar(replica, year)?;
        Ok(Self::using(catalogue, calendar, replica, clerk, issuer))
    }

    /// The counter of `replica` with the given catalogue and calendar (many
    /// simulated devices share one).
    pub fn using<S: Storage>(
        catalogue: Catalogue,
        calendar: WorkingCalendar,
        replica: &DeviceReplica<S>,
        clerk: Clerk,
        issuer: CodeIssuer,
    ) -> Self {
        Self {
            clerk,
            catalogue,
            calendar,
            issuer,
            actor: replica.actor().clone(),
            codes: replica.dossiers().map(|(_, d)| d.code.clone()).collect(),
        }
    }

    pub fn clerk(&self) -> &Clerk {
        &self.clerk
    }

    pub fn catalogue(&self) -> &Catalogue {
        &self.catalogue
    }

    /// Receives a dossier at `at`: the next code of this device's slots for
    /// that day, the appointment from the procedure and the working
    /// calendar, the first stage, all stored in `replica`.
    pub fn receive<S: Storage>(
        &mut self,
        replica: &mut DeviceReplica<S>,
        dossier: NewDossier,
        at: i64,
    ) -> CounterResult<Received, S::Error> {
        let reception = Reception {
            procedure_id: dossier.procedure_id,
            applicant: dossier.applicant,
            documents: dossier.documents,
            sets: dossier.sets,
            channel: dossier.channel,
            fee_paid: dossier.fee_paid,
            result_delivery: dossier.result_delivery,
            received_at: at,
            user: self.clerk.user.clone(),
            device: self.clerk.device.clone(),
            note: dossier.note,
        };
        let received = intake::receive(
            &self.catalogue,
            &self.calendar,
            &self.issuer,
            self.codes.iter(),
            self.actor.clone(),
            reception,
        )?;
        replica.insert_new(received.doc_id, &received.doc)?;
        self.codes.push(received.dossier.code.clone());
        Ok(received)
    }
}

#[cfg(test)]
mod tests;
