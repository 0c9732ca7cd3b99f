//! The plain values the screens show, serialised to JSON for the page.
//!
//! Times are milliseconds since the Unix epoch (the page formats them in
//! Vietnam's time); names come in Vietnamese and English so the page can
//! switch language without asking again.

use client_core::deadline::Timeliness;
use client_core::dossier::{Dossier, FieldConflict};
use client_core::ids::UnitCode;
use client_core::stage::{NationalStatus, Stage, StageEntry};
use serde::Serialize;

/// A name in both languages.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Named {
    pub id: String,
    pub vi: String,
    pub en: String,
}

impl Named {
    pub fn stage(stage: Stage) -> Self {
        Self {
            id: stage.as_str().to_string(),
            vi: stage.name_vi().to_string(),
            en: stage.name_en().to_string(),
        }
    }

    pub fn status(status: NationalStatus) -> Self {
        Self {
            id: status.code().to_string(),
            vi: status.name_vi().to_string(),
            en: status.name_en().to_string(),
        }
    }
}

/// One line of a dossier list.
#[derive(Debug, Clone, Serialize)]
pub struct DossierRow {
    pub doc_id: String,
    pub code: String,
    pub applicant: String,
    pub id_number: String,
    pub phone: Option<String>,
    pub procedure: String,
    pub field: String,
    pub stage: Option<Named>,
    pub status: Option<Named>,
    pub received_at: i64,
    /// The appointment on the receipt.
    pub due_at: i64,
    /// The appointment after waits for the citizen, as of now.
    pub effective_due_at: Option<i64>,
    pub timeliness: Option<Timeliness>,
    pub clock_stopped: bool,
    pub closed: bool,
    /// Changes not yet acknowledged by the hub.
    pub pending: bool,
    /// The hub refused this dossier's changes.
    pub refused: bool,
    pub conflicts: usize,
}

/// A stage log entry as shown on the dossier's page and on Form 06.
#[derive(Debug, Clone, Serialize)]
pub struct TimelineEntry {
    pub stage: Named,
    pub at: i64,
    pub user: String,
    pub device: String,
    pub unit: UnitCode,
    pub note: String,
    /// On a supplement request: the documents asked for (Form 02's list).
    pub missing: Vec<String>,
    /// Recorded but not counted, and why (e.g. recorded after the close).
    pub overruled: Option<String>,
}

impl TimelineEntry {
    pub fn of(entry: &StageEntry, overruled: Option<String>) -> Self {
        Self {
            stage: Named::stage(entry.stage),
            at: entry.at,
            user: entry.user.clone(),
            device: entry.device.clone(),
            unit: entry.unit.clone(),
            note: entry.note.clone(),
            missing: entry.missing.clone(),
            overruled,
        }
    }
}

/// Everything the dossier's page and its printed forms need.
#[derive(Debug, Clone, Serialize)]
pub struct DossierView {
    pub row: DossierRow,
    pub dossier: Dossier,
    pub timeline: Vec<TimelineEntry>,
    /// Stages that may be recorded next.
    pub next_stages: Vec<Named>,
    pub conflicts: Vec<ConflictView>,
    pub refusal: Option<RefusalView>,
    /// The receiving unit's name and its parent's, for the forms' headers.
    pub unit_name: String,
    pub parent_unit_name: Option<String>,
    /// Field (lĩnh vực) name.
    pub field_name: Named,
    /// The register book (sổ theo dõi hồ sơ) and the entry's number in it.
    pub register_book: String,
    pub register_number: u16,
    /// The open supplement request (Form 02), if any.
    pub supplement: Option<TimelineEntry>,
}

/// A field edited concurrently, with who wrote each value and when.
#[derive(Debug, Clone, Serialize)]
pub struct ConflictView {
    pub doc_id: String,
    pub code: String,
    pub applicant: String,
    pub conflict: FieldConflict,
    /// Per value, in the same order: who wrote it, as far as this device
    /// can tell ("this device", or the change's description).
    pub who: Vec<String>,
}

/// Changes the hub refused, with its reason.
#[derive(Debug, Clone, Serialize)]
pub struct RefusalView {
    pub doc_id: String,
    pub code: Option<String>,
    pub applicant: Option<String>,
    pub reason: String,
    pub message: String,
}

/// The counter's to-do list: dossiers past due and due soon.
#[derive(Debug, Clone, Serialize)]
pub struct Deadlines {
    pub overdue: Vec<DossierRow>,
    pub due_soon: Vec<DossierRow>,
}

#[derive(Debug, Clone, Serialize)]
pub struct Inbox {
    pub conflicts: Vec<ConflictView>,
    pub refused: Vec<RefusalView>,
}

/// What the status bar shows.
#[derive(Debug, Clone, Serialize)]
pub struct SyncStatus {
    pub connected: bool,
    /// Waiting for the hub to answer.
    pub waiting: bool,
    pub in_sync: bool,
    /// Documents with changes the hub has not acknowledged.
    pub pending: usize,
    pub in_flight: usize,
    pub documents: usize,
    /// During a long sync: documents received from the hub so far in this
    /// connection and the phase, for the progress line.
    pub received_this_connection: usize,
    pub acknowledged_this_connection: usize,
    pub phase: SyncPhase,
    pub bytes_received: u64,
    pub bytes_sent: u64,
}

/// Where the connection stands, for the status bar.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum SyncPhase {
    Offline,
    /// Connected, waiting for the hub's welcome.
    Connecting,
    /// Receiving what changed at the hub since the last checkpoint.
    CatchingUp,
    /// Caught up, comparing fingerprints with the hub.
    Checking,
    /// In sync; changes flow both ways as they happen.
    Live,
}

/// What happened on the connection, for the page.
#[derive(Debug, Clone, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum SyncEvent {
    Welcomed {
        device: String,
        unit: String,
        code_slots: Vec<u8>,
        hub_time: i64,
    },
    Received {
        docs: usize,
    },
    Acknowledged {
        docs: usize,
    },
    Refused {
        doc_id: String,
        reason: String,
        message: String,
    },
    Unreadable {
        doc_id: String,
        message: String,
    },
    CaughtUp,
    InSync {
        repaired: usize,
    },
    HubError {
        code: String,
        message: String,
        fatal: bool,
    },
}

/// A procedure for the picker and the receiving form.
#[derive(Debug, Clone, Serialize)]
pub struct ProcedureView {
    pub procedure: client_core::catalogue::Procedure,
    pub field_name: Named,
    /// The documents handed in, as the receiving form starts them.
    pub checklist: Vec<client_core::dossier::HandedDocument>,
}

/// A working-calendar year for the admin screen.
#[derive(Debug, Clone, Serialize)]
pub struct CalendarYear {
    pub year: i32,
    pub holidays: Vec<client_core::calendar::Holiday>,
    pub swapped_working_days: Vec<chrono::NaiveDate>,
    pub working_days: u32,
}

/// Report 06a as the dashboard shows it: the figures, the codes behind each,
/// and the names to put on rows and columns.
#[derive(Debug, Clone, Serialize)]
pub struct StatisticsView {
    pub summary: client_core::statistics::Summary,
    /// The columns in the order of the form.
    pub columns: Vec<Named>,
    pub on_time_rate: Named,
    pub unit_names: std::collections::BTreeMap<String, String>,
    pub field_names: std::collections::BTreeMap<String, Named>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sync_phases_reach_the_page_as_the_names_it_knows() {
        // `SyncStatus.phase` in pwa/src/lib/core.ts.
        let names: Vec<String> = [
            SyncPhase::Offline,
            SyncPhase::Connecting,
            SyncPhase::CatchingUp,
            SyncPhase::Checking,
            SyncPhase::Live,
        ]
        .iter()
        .map(|p| serde_json::to_string(p).unwrap())
        .collect();
        assert_eq!(
            names,
            [
                "\"offline\"",
                "\"connecting\"",
                "\"catching_up\"",
                "\"checking\"",
                "\"live\""
            ]
        );
    }
}
