//! The binary record of a dossier's report facts (`dossier_facts.facts`)
//! and of its stage log: compact, so that a report reads a million rows
//! quickly, and checked, so that a damaged row is named, never misread.

use std::sync::Arc;

use client_core::deadline::{DeadlineTerms, PauseRule, ProcessingTime, TimeUnit};
use client_core::dossier::Channel;
use client_core::ids::UnitCode;
use client_core::stage::{Stage, StageEvent};
use client_core::statistics::{DossierFacts, KeyMap};

/// Bytes per stage in the stored stage log.
const EVENT_BYTES: usize = 9;

/// A stage log as the index stores it: per stage, its position in
/// [`Stage::ALL`] (one byte) and its time (eight bytes, little-endian), in
/// log order. Compact, so a report reads a million logs quickly.
pub fn encode_stage_log(events: &[StageEvent]) -> Vec<u8> {
    let mut bytes = Vec::with_capacity(events.len() * EVENT_BYTES);
    for e in events {
        let position = Stage::ALL.iter().position(|s| *s == e.stage).unwrap_or(0);
        bytes.push(position as u8);
        bytes.extend_from_slice(&e.at.to_le_bytes());
    }
    bytes
}

/// Reads what [`encode_stage_log`] wrote; `None` when the bytes are damaged.
pub fn decode_stage_log(bytes: &[u8]) -> Option<Vec<StageEvent>> {
    if !bytes.len().is_multiple_of(EVENT_BYTES) {
        return None;
    }
    bytes
        .chunks_exact(EVENT_BYTES)
        .map(|chunk| {
            let stage = *Stage::ALL.get(usize::from(chunk[0]))?;
            let at = i64::from_le_bytes(chunk[1..].try_into().ok()?);
            Some(StageEvent { stage, at })
        })
        .collect()
}

const CHANNELS: [Channel; 3] = [Channel::Direct, Channel::Postal, Channel::Online];
const TIME_UNITS: [TimeUnit; 2] = [TimeUnit::WorkingDays, TimeUnit::WorkingHours];
const PAUSE_RULES: [PauseRule; 2] = [PauseRule::Extend, PauseRule::Restart];
/// The layout of a facts record; a record of another is damaged.
const FACTS_LAYOUT: u8 = 1;

/// A dossier's report facts as `dossier_facts.facts` stores them, one record
/// so that a report reads two columns a row (`unit` and this):
///
/// ```text
/// layout (1) · channel · processing unit · pause rule   one byte each, positions in
///                                                       CHANNELS, TIME_UNITS, PAUSE_RULES
/// processing amount                                     u32, little-endian
/// received_at · due_at                                  i64 milliseconds, little-endian
/// code · field · clerk                                  u16 length + UTF-8 each
/// the stage log                                         the rest, as encode_stage_log
/// ```
pub fn encode_facts(f: &DossierFacts) -> Vec<u8> {
    let position = |found: Option<usize>| found.unwrap_or(0) as u8;
    let mut bytes = Vec::with_capacity(40 + f.code.len() + f.field.len() + f.clerk.len());
    bytes.push(FACTS_LAYOUT);
    bytes.push(position(CHANNELS.iter().position(|c| *c == f.channel)));
    bytes.push(position(
        TIME_UNITS
            .iter()
            .position(|u| *u == f.terms.processing.unit),
    ));
    bytes.push(position(
        PAUSE_RULES.iter().position(|r| *r == f.terms.pause_rule),
    ));
    bytes.extend_from_slice(&f.terms.processing.amount.to_le_bytes());
    bytes.extend_from_slice(&f.terms.received_at.to_le_bytes());
    bytes.extend_from_slice(&f.due_at.to_le_bytes());
    for text in [f.code.as_str(), &f.field, &f.clerk] {
        // Texts are limited far below 64 KiB when a dossier is validated.
        let text = &text.as_bytes()[..text.len().min(usize::from(u16::MAX))];
        bytes.extend_from_slice(&(text.len() as u16).to_le_bytes());
        bytes.extend_from_slice(text);
    }
    bytes.extend_from_slice(&encode_stage_log(&f.stages));
    bytes
}

/// Reads what [`encode_facts`] wrote, for a dossier of `unit`; `None` when
/// the record is damaged.
fn decode_facts(unit: UnitCode, bytes: &[u8], shared: &mut SharedTexts) -> Option<DossierFacts> {
    let mut rest = bytes;
    let mut take = |n: usize| -> Option<&[u8]> {
        let (head, tail) = (rest.get(..n)?, rest.get(n..)?);
        rest = tail;
        Some(head)
    };
    let head = take(4)?;
    if head[0] != FACTS_LAYOUT {
        return None;
    }
    let channel = *CHANNELS.get(usize::from(head[1]))?;
    let time_unit = *TIME_UNITS.get(usize::from(head[2]))?;
    let pause_rule = *PAUSE_RULES.get(usize::from(head[3]))?;
    let amount = u32::from_le_bytes(take(4)?.try_into().ok()?);
    let received_at = i64::from_le_bytes(take(8)?.try_into().ok()?);
    let due_at = i64::from_le_bytes(take(8)?.try_into().ok()?);
    let mut text = || -> Option<&str> {
        let len = u16::from_le_bytes(take(2)?.try_into().ok()?);
        std::str::from_utf8(take(usize::from(len))?).ok()
    };
    let code = text()?.to_string();
    let field = shared.text(text()?);
    let clerk = shared.text(text()?);
    Some(DossierFacts {
        code,
        unit,
        field,
        channel,
        clerk,
        due_at,
        terms: DeadlineTerms {
            received_at,
            processing: ProcessingTime {
                amount,
                unit: time_unit,
            },
            pause_rule,
        },
        stages: decode_stage_log(rest)?,
    })
}

/// The texts many rows share (units, fields, clerks), kept once while rows
/// are read, so a million rows do not allocate them a million times.
#[derive(Default)]
pub(super) struct SharedTexts {
    units: KeyMap<String, UnitCode>,
    texts: KeyMap<String, Arc<str>>,
}

impl SharedTexts {
    fn unit(&mut self, code: &str) -> Option<UnitCode> {
        if let Some(unit) = self.units.get(code) {
            return Some(unit.clone());
        }
        let unit = UnitCode::parse(code).ok()?;
        self.units.insert(code.to_string(), unit.clone());
        Some(unit)
    }

    fn text(&mut self, text: &str) -> Arc<str> {
        if let Some(shared) = self.texts.get(text) {
            return shared.clone();
        }
        let shared: Arc<str> = text.into();
        self.texts.insert(text.to_string(), shared.clone());
        shared
    }
}

/// The columns of `dossier_facts f` that [`facts_from_row`] reads, in its
/// order.
pub(super) const FACTS_COLUMNS: &str = "f.unit, f.facts";

/// A dossier's report facts from its `dossier_facts` row (columns
/// [`FACTS_COLUMNS`] from `first`), or what is wrong with the row.
pub(super) fn facts_from_row(
    r: &rusqlite::Row<'_>,
    first: usize,
    shared: &mut SharedTexts,
) -> std::result::Result<DossierFacts, String> {
    let unit = r.get_ref(first).and_then(|v| Ok(v.as_str()?));
    let facts = r.get_ref(first + 1).and_then(|v| Ok(v.as_blob()?));
    match (unit, facts) {
        (Ok(unit), Ok(facts)) => shared
            .unit(unit)
            .and_then(|unit| decode_facts(unit, facts, shared))
            .ok_or_else(|| "its report facts are damaged".to_string()),
        (Err(e), _) | (_, Err(e)) => Err(format!("its report facts cannot be read: {e}")),
    }
}
