//! The deadline engine: appointment dates, pauses and timeliness.

use serde::{Deserialize, Serialize};

/// How a procedure's processing time is counted.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TimeUnit {
    WorkingDays,
    WorkingHours,
}

/// A procedure's statutory processing time. `0 working days` is a same-day
/// procedure.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct ProcessingTime {
    pub amount: u32,
    pub unit: TimeUnit,
}

impl ProcessingTime {
    pub const fn working_days(amount: u32) -> Self {
        Self {
            amount,
            unit: TimeUnit::WorkingDays,
        }
    }

    pub const fn working_hours(amount: u32) -> Self {
        Self {
            amount,
            unit: TimeUnit::WorkingHours,
        }
    }
}

/// What happens to the clock while a dossier waits for the citizen (a
/// supplement or a payment). Chosen per procedure.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PauseRule {
    /// The appointment moves later by the working time spent waiting.
    Extend,
    /// The full processing time starts again when the wait ends.
    Restart,
}
