//! The browser's device: a replica, the sync engine, and what a clerk does
//! with them.
//!
//! [`BrowserDevice`] is to the web app what `server::device` is to the
//! native CLI: the same client-core replica and engine, driven by a
//! different host. Every operation takes the time from the caller (the page
//! passes `Date.now()`), stores the change in the replica, and tells the
//! engine so a live connection pushes it at once. The page then takes the
//! write batches ([`BrowserDevice::take_writes`]) and the frames to send
//! ([`BrowserDevice::poll_transmit`]).

use automerge::ActorId;
use chrono::Datelike;
use client_core::calendar::WorkingCalendar;
use client_core::catalogue::Catalogue;
use client_core::codes::CodeError;
use client_core::counter::{self, Clerk, Counter, CounterError, CounterResult, NewDossier};
use client_core::deadline::Timeliness;
use client_core::dossier::{
    Applicant, ChangeMeta, Channel, DeliveryMethod, Dossier, EditableField, HandedDocument,
    ResultDelivery,
};
use client_core::ids::{DocId, IdNumber, PhoneNumber, UnitCode};
use client_core::intake::{self, IntakeError};
use client_core::search::SearchQuery;
use client_core::stage::{Overruled, Stage};
use client_core::statistics::{
    Column, DossierFacts, ON_TIME_RATE_EN, ON_TIME_RATE_VI, Period, Report06a,
};
use client_core::sync::device::{DeviceConfig, DeviceEvent, DeviceSync, Millis};
use client_core::sync::replica::{DeviceReplica, MemoryStorage, SyncReplica};
use client_core::time;
use client_core::units::UnitTree;
use serde::{Deserialize, Serialize};

use crate::persist::{self, RestoreReport, SavedBatch, SavedState};
use crate::views::*;

/// The agent string this device sends in its hello.
pub const AGENT: &str = concat!("motcua-pwa/", env!("CARGO_PKG_VERSION"));

/// Dossiers due within this many working days are "due soon".
pub const DUE_SOON_WORKING_DAYS: u32 = 2;

/// Who this browser is to the hub, as enrolment returned it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Identity {
    pub token: String,
    pub device_id: String,
    pub device_name: String,
    pub unit: UnitCode,
    pub code_slots: Vec<u8>,
    /// The user name that records stages on this device.
    pub user: String,
    pub user_full_name: String,
}

/// An error for the page: what was wrong, and for form errors the field.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, thiserror::Error)]
#[error("{message}")]
pub struct WebError {
    /// The form field at fault (`id_number`, `applicant.phone`, …), if any.
    pub field: Option<String>,
    pub message: String,
}

impl WebError {
    pub fn new(message: impl Into<String>) -> Self {
        Self {
            field: None,
            message: message.into(),
        }
    }

    pub fn field(field: &str, message: impl Into<String>) -> Self {
        Self {
            field: Some(field.to_string()),
            message: message.into(),
        }
    }
}

fn err(e: impl std::fmt::Display) -> WebError {
    WebError::new(e.to_string())
}

pub type WebResult<T> = Result<T, WebError>;

/// What the clerk fills in to receive a dossier.
#[derive(Debug, Clone, Deserialize)]
pub struct ReceiveForm {
    pub procedure_id: String,
    pub full_name: String,
    pub id_number: String,
    #[serde(default)]
    pub phone: String,
    #[serde(default)]
    pub address: String,
    /// The documents handed in; empty means the procedure's list.
    #[serde(default)]
    pub documents: Vec<HandedDocument>,
    #[serde(default = "one")]
    pub sets: u32,
    #[serde(default = "direct")]
    pub channel: String,
    #[serde(default)]
    pub fee_paid: bool,
    #[serde(default)]
    pub result_method: Option<String>,
    #[serde(default)]
    pub result_place: Option<String>,
    #[serde(default)]
    pub note: String,
}

fn one() -> u32 {
    1
}

fn direct() -> String {
    "direct".into()
}

/// Counters of the current connection, for the progress line.
#[derive(Debug, Default)]
struct ConnectionProgress {
    received: usize,
    acknowledged: usize,
    caught_up: bool,
}

pub struct BrowserDevice {
    identity: Identity,
    replica: DeviceReplica<MemoryStorage>,
    engine: DeviceSync,
    events: Vec<SyncEvent>,
    progress: ConnectionProgress,
}

impl BrowserDevice {
    /// Opens the device from what IndexedDB held (empty on the first visit).
    pub fn open(
        identity: Identity,
        actor: ActorId,
        saved: SavedState,
    ) -> WebResult<(Self, RestoreReport)> {
        let (storage, report) = persist::restore(saved);
        let replica = DeviceReplica::open(storage, actor.clone()).map_err(err)?;
        let engine = DeviceSync::new(DeviceConfig {
            token: identity.token.clone(),
            actors: vec![actor.to_bytes().to_vec()],
            agent: AGENT.to_string(),
        });
        Ok((
            Self {
                identity,
                replica,
                engine,
                events: Vec::new(),
                progress: ConnectionProgress::default(),
            },
            report,
        ))
    }

    pub fn identity(&self) -> &Identity {
        &self.identity
    }

    pub fn actor(&self) -> &ActorId {
        self.replica.actor()
    }

    /// The write batches made since the last call, to persist in order.
    pub fn take_writes(&mut self) -> Vec<SavedBatch> {
        self.replica
            .storage_mut()
            .take_committed()
            .into_iter()
            .map(SavedBatch::from_batch)
            .collect()
    }

    // ------------------------------------------------------------ sync

    /// The WebSocket opened at `now` (the page's milliseconds).
    pub fn sync_start(&mut self, now: Millis) -> WebResult<()> {
        self.progress = ConnectionProgress::default();
        self.engine.advance(now);
        self.engine.start(&mut self.replica).map_err(err)?;
        self.drain_events();
        Ok(())
    }

    /// A binary frame arrived. An error means the connection is unusable:
    /// the page closes it and reconnects later.
    pub fn sync_frame(&mut self, frame: &[u8], now: Millis) -> WebResult<()> {
        self.engine.advance(now);
        let result = self.engine.handle_frame(frame, &mut self.replica);
        self.drain_events();
        result.map_err(err)
    }

    /// The page's time after a step without one (a local change).
    pub fn sync_advance(&mut self, now: Millis) {
        self.engine.advance(now);
    }

    /// When the page should call [`BrowserDevice::sync_timeout`] next.
    pub fn sync_deadline(&self) -> Option<Millis> {
        self.engine.poll_timeout()
    }

    /// The deadline came: an answer lost fails the connection (the page
    /// closes it and reconnects); a live one verifies again.
    pub fn sync_timeout(&mut self, now: Millis) -> WebResult<()> {
        let result = self.engine.handle_timeout(now, &mut self.replica);
        self.drain_events();
        result.map_err(err)
    }

    /// The WebSocket closed; unacknowledged changes stay pending.
    pub fn sync_disconnected(&mut self) {
        self.engine.disconnected();
    }

    pub fn poll_transmit(&mut self) -> Option<Vec<u8>> {
        self.engine.poll_transmit()
    }

    pub fn take_events(&mut self) -> Vec<SyncEvent> {
        std::mem::take(&mut self.events)
    }

    pub fn status(&self) -> SyncStatus {
        let stats = self.engine.stats();
        let phase = if !self.engine.is_connected() {
            SyncPhase::Offline
        } else if self.engine.welcome().is_none() {
            SyncPhase::Connecting
        } else if !self.progress.caught_up {
            SyncPhase::CatchingUp
        } else if self.engine.is_in_sync() {
            SyncPhase::Live
        } else {
            SyncPhase::Checking
        };
        SyncStatus {
            connected: self.engine.is_connected(),
            waiting: self.engine.is_waiting(),
            in_sync: self.engine.is_in_sync(),
            pending: self.replica.pending_count(),
            in_flight: self.engine.in_flight(),
            documents: self.replica.len(),
            received_this_connection: self.progress.received,
            acknowledged_this_connection: self.progress.acknowledged,
            phase,
            bytes_received: stats.bytes_received,
            bytes_sent: stats.bytes_sent,
        }
    }

    fn drain_events(&mut self) {
        while let Some(event) = self.engine.poll_event() {
            let view = match event {
                DeviceEvent::Welcomed(w) => {
                    // The hub is the authority on this device's unit and slots.
                    self.identity.code_slots = w.code_slots.clone();
                    self.identity.unit = w.unit.clone();
                    SyncEvent::Welcomed {
                        device: w.device,
                        unit: w.unit.to_string(),
                        code_slots: w.code_slots,
                        hub_time: w.hub_time,
                    }
                }
                DeviceEvent::Received(docs) => {
                    self.progress.received += docs.len();
                    SyncEvent::Received { docs: docs.len() }
                }
                DeviceEvent::Acknowledged(docs) => {
                    self.progress.acknowledged += docs.len();
                    SyncEvent::Acknowledged { docs: docs.len() }
                }
                DeviceEvent::Refused {
                    doc,
                    reason,
                    message,
                } => SyncEvent::Refused {
                    doc_id: doc.to_string(),
                    reason: reason.as_str().to_string(),
                    message,
                },
                DeviceEvent::Unreadable { doc, message } => SyncEvent::Unreadable {
                    doc_id: doc.to_string(),
                    message,
                },
                DeviceEvent::CaughtUp => {
                    self.progress.caught_up = true;
                    SyncEvent::CaughtUp
                }
                DeviceEvent::InSync { repaired } => SyncEvent::InSync { repaired },
                DeviceEvent::HubError(e) => SyncEvent::HubError {
                    code: format!("{:?}", e.code),
                    message: e.message,
                    fatal: e.fatal,
                },
            };
            self.events.push(view);
        }
    }

    /// After a local change: push it now when connected.
    fn changed(&mut self) -> WebResult<()> {
        self.engine.local_changes(&mut self.replica).map_err(err)?;
        self.drain_events();
        Ok(())
    }

    // ------------------------------------------------- configuration

    /// The published catalogue once synced; the built-in one before.
    pub fn catalogue(&mut self) -> Catalogue {
        counter::catalogue(&mut self.replica)
    }

    /// The published working calendar once synced; the statutory rules
    /// around `year` before.
    pub fn calendar(&mut self, year: i32) -> WebResult<WorkingCalendar> {
        counter::calendar(&mut self.replica, year).map_err(err)
    }

    pub fn units(&mut self) -> Option<UnitTree> {
        counter::units(&mut self.replica)
    }

    /// Current procedures matching what the clerk typed (name or code,
    /// diacritics optional), each with its field's name.
    pub fn procedures(&mut self, query: &str) -> Vec<ProcedureView> {
        let catalogue = self.catalogue();
        catalogue
            .search(query)
            .into_iter()
            .map(|p| ProcedureView {
                field_name: field_name(&catalogue, p.field.as_str()),
                checklist: intake::checklist(p),
                procedure: p.clone(),
            })
            .collect()
    }

    pub fn calendar_year(&mut self, year: i32) -> WebResult<CalendarYear> {
        let calendar = self.calendar(year)?;
        let (first, last) = (
            chrono::NaiveDate::from_ymd_opt(year, 1, 1).ok_or_else(|| err("bad year"))?,
            chrono::NaiveDate::from_ymd_opt(year, 12, 31).ok_or_else(|| err("bad year"))?,
        );
        Ok(CalendarYear {
            year,
            holidays: calendar
                .holidays()
                .filter(|h| h.date.year() == year)
                .cloned()
                .collect(),
            swapped_working_days: calendar
                .swapped_working_days()
                .filter(|d| d.year() == year)
                .collect(),
            // `working_days_between` counts the days after `from` up to `to`.
            working_days: calendar.working_days_between(first.pred_opt().unwrap_or(first), last),
        })
    }

    // ------------------------------------------------------ the counter

    /// Who records stages on this browser.
    fn clerk(&self) -> Clerk {
        Clerk {
            user: self.identity.user.clone(),
            device: self.identity.device_id.clone(),
            unit: self.identity.unit.clone(),
        }
    }

    /// Receives a dossier: its code and appointment are issued here,
    /// offline, from this device's code slots and the working calendar.
    pub fn receive(&mut self, form: ReceiveForm, now: i64) -> WebResult<DossierView> {
        let issuer = counter::code_issuer(self.identity.unit.clone(), &self.identity.code_slots)
            .map_err(|e| match e {
                CodeError::NoSlots(_) => WebError::new(
                    "Thiết bị này không được cấp dải số hồ sơ nên không thể tiếp nhận; hãy đăng nhập bằng tài khoản cán bộ một cửa. / This device has no dossier number range, so it cannot receive dossiers: log in with a counter clerk's account.",
                ),
                other => err(other),
            })?;
        let full_name = form.full_name.trim();
        if full_name.is_empty() {
            return Err(WebError::field(
                "full_name",
                "Nhập họ và tên người nộp. / Enter the applicant's full name.",
            ));
        }
        let id_number = IdNumber::parse(&form.id_number).map_err(|e| {
            WebError::field(
                "id_number",
                format!(
                    "Số CCCD/CMND/hộ chiếu không hợp lệ: {e} / The ID number is not valid: {e}"
                ),
            )
        })?;
        let phone = match form.phone.trim() {
            "" => None,
            p => Some(PhoneNumber::parse(p).map_err(|e| {
                WebError::field(
                    "phone",
                    format!("Số điện thoại không hợp lệ: {e} / The phone number is not valid: {e}"),
                )
            })?),
        };
        let channel = Channel::parse(&form.channel)
            .ok_or_else(|| WebError::field("channel", format!("channel: {}", Channel::CHOICES)))?;
        let result_delivery = match form.result_method.as_deref() {
            None | Some("") => None,
            Some(m) => Some(ResultDelivery {
                method: DeliveryMethod::parse(m).ok_or_else(|| {
                    WebError::field("result_method", DeliveryMethod::CHOICES.to_string())
                })?,
                place: form.result_place.clone().unwrap_or_default(),
            }),
        };
        let place = result_delivery.or_else(|| {
            self.units()
                .and_then(|t| t.get(&self.identity.unit).map(|u| u.name.clone()))
                .map(|unit| ResultDelivery {
                    method: DeliveryMethod::Counter,
                    place: format!("Bộ phận Tiếp nhận và Trả kết quả – {unit}"),
                })
        });
        let clerk = self.clerk();
        let mut counter = Counter::open(&mut self.replica, clerk, issuer, now).map_err(err)?;
        let received = counter
            .receive(
                &mut self.replica,
                NewDossier {
                    procedure_id: form.procedure_id,
                    applicant: Applicant {
                        full_name: full_name.to_string(),
                        id_number,
                        phone,
                        address: form.address,
                    },
                    documents: (!form.documents.is_empty()).then_some(form.documents),
                    sets: form.sets,
                    channel,
                    fee_paid: form.fee_paid,
                    result_delivery: place,
                    note: form.note,
                },
                now,
            )
            .map_err(|e| match e {
                CounterError::Intake(IntakeError::UnknownProcedure(_)) => {
                    WebError::field("procedure_id", e.to_string())
                }
                other => err(other),
            })?;
        self.changed()?;
        self.dossier(&received.doc_id.to_string(), now)
    }

    fn doc_id(id: &str) -> WebResult<DocId> {
        DocId::parse(id).map_err(|_| err(format!("'{id}' is not a document id")))
    }

    /// Records a stage of a dossier.
    pub fn record_stage(
        &mut self,
        doc_id: &str,
        stage: Stage,
        note: &str,
        now: i64,
    ) -> WebResult<DossierView> {
        let id = Self::doc_id(doc_id)?;
        let recorded = self
            .clerk()
            .record_stage(&mut self.replica, &id, stage, note, now);
        self.after_stages(doc_id, recorded, now)
    }

    /// Asks the citizen for a supplement (Form 02), listing the missing
    /// documents.
    pub fn request_supplement(
        &mut self,
        doc_id: &str,
        missing: &[String],
        note: &str,
        now: i64,
    ) -> WebResult<DossierView> {
        let id = Self::doc_id(doc_id)?;
        let recorded = self
            .clerk()
            .request_supplement(&mut self.replica, &id, missing, note, now);
        self.after_stages(doc_id, recorded, now)
    }

    /// The citizen brought the supplement.
    pub fn supplement_arrived(
        &mut self,
        doc_id: &str,
        note: &str,
        now: i64,
    ) -> WebResult<DossierView> {
        self.record_stage(doc_id, Stage::SupplementReceived, note, now)
    }

    /// Hands the result to the citizen; a dossier still being worked on is
    /// first marked done.
    pub fn return_result(&mut self, doc_id: &str, note: &str, now: i64) -> WebResult<DossierView> {
        let id = Self::doc_id(doc_id)?;
        let recorded = self
            .clerk()
            .return_result(&mut self.replica, &id, note, now);
        self.after_stages(doc_id, recorded, now)
    }

    /// After a stage operation: pushes what was recorded, and shows the
    /// dossier or why nothing was.
    fn after_stages<T>(
        &mut self,
        doc_id: &str,
        recorded: CounterResult<T, std::convert::Infallible>,
        now: i64,
    ) -> WebResult<DossierView> {
        recorded.map_err(|e| match e {
            CounterError::NothingMissing => WebError::field(
                "missing",
                "Ghi ít nhất một giấy tờ cần bổ sung. / List at least one document to supplement.",
            ),
            e => WebError::new(format!(
                "Không ghi được bước này: {e} / This stage cannot be recorded: {e}"
            )),
        })?;
        self.changed()?;
        self.dossier(doc_id, now)
    }

    /// Sets an editable field; also how a conflict is resolved (the value
    /// written replaces every concurrent one).
    pub fn edit_field(
        &mut self,
        doc_id: &str,
        path: &str,
        value: &str,
        now: i64,
    ) -> WebResult<DossierView> {
        let id = Self::doc_id(doc_id)?;
        let field = EditableField::from_path(path)
            .ok_or_else(|| WebError::field(path, format!("'{path}' cannot be edited")))?;
        let meta = ChangeMeta {
            at: now,
            message: format!("edit {} by {}", field.path(), self.identity.user),
        };
        self.replica
            .update(&id, |doc| doc.set_field(field, value, &meta))
            .map_err(|e| WebError::field(path, e.to_string()))?;
        self.changed()?;
        self.dossier(doc_id, now)
    }

    /// Drops local changes the hub refused; the hub's version comes back
    /// with the next sync.
    pub fn discard_refused(&mut self, doc_id: &str) -> WebResult<()> {
        let id = Self::doc_id(doc_id)?;
        self.replica.discard_refused(&id).map_err(err)?;
        self.changed()
    }

    // --------------------------------------------------------- queries

    fn row(&mut self, id: &DocId, d: &Dossier, calendar: &WorkingCalendar, now: i64) -> DossierRow {
        let meta = self.replica.meta(id);
        let pending = meta.is_some_and(|m| m.is_pending());
        let refused = meta.is_some_and(|m| m.refused.is_some());
        let progress = d.progress();
        let standing = d.standing(calendar, now).ok();
        DossierRow {
            doc_id: id.to_string(),
            code: d.code.to_string(),
            applicant: d.applicant.full_name.clone(),
            id_number: d.applicant.id_number.as_str().to_string(),
            phone: d.applicant.phone.as_ref().map(|p| p.as_str().to_string()),
            procedure: d.procedure.name.clone(),
            field: d.field.clone(),
            stage: progress.current.map(Named::stage),
            status: progress.status.map(Named::status),
            received_at: d.received_at,
            due_at: d.due_at,
            effective_due_at: standing.as_ref().map(|s| s.due.at.timestamp_millis()),
            timeliness: standing.as_ref().map(|s| s.timeliness),
            clock_stopped: standing.as_ref().is_some_and(|s| s.due.clock_stopped),
            closed: progress.is_closed(),
            pending,
            refused,
            conflicts: 0,
        }
    }

    fn rows(&mut self, filter: impl Fn(&Dossier) -> bool, now: i64) -> WebResult<Vec<DossierRow>> {
        let calendar = self.calendar(year_of(now)?)?;
        let found: Vec<(DocId, Dossier)> = self
            .replica
            .dossiers()
            .filter(|(_, d)| filter(d))
            .map(|(id, d)| (*id, d.clone()))
            .collect();
        let mut rows: Vec<DossierRow> = found
            .iter()
            .map(|(id, d)| self.row(id, d, &calendar, now))
            .collect();
        rows.sort_by(|a, b| b.received_at.cmp(&a.received_at).then(b.code.cmp(&a.code)));
        Ok(rows)
    }

    /// Dossiers matching what the clerk typed: code, applicant name
    /// (diacritics optional), ID number or phone. Newest first.
    pub fn search(&mut self, query: &str, now: i64) -> WebResult<Vec<DossierRow>> {
        let query = SearchQuery::parse(query);
        self.rows(|d| d.matches(&query), now)
    }

    /// Open dossiers past their appointment, and those due within
    /// [`DUE_SOON_WORKING_DAYS`] working days, soonest first.
    pub fn deadlines(&mut self, now: i64) -> WebResult<Deadlines> {
        let calendar = self.calendar(year_of(now)?)?;
        let today = time::from_millis(now)
            .map(|t| time::vn_date(&t))
            .ok_or_else(|| err("the clock is out of range"))?;
        let horizon = calendar
            .add_working_days(today, DUE_SOON_WORKING_DAYS)
            .unwrap_or(today);
        let open = self.rows(|d| !d.progress().is_closed(), now)?;
        let mut overdue = Vec::new();
        let mut due_soon = Vec::new();
        for row in open {
            match row.timeliness {
                Some(Timeliness::Overdue) => overdue.push(row),
                Some(Timeliness::WithinDeadline) if !row.clock_stopped => {
                    let due = row
                        .effective_due_at
                        .and_then(time::from_millis)
                        .map(|t| time::vn_date(&t));
                    if due.is_some_and(|d| d <= horizon) {
                        due_soon.push(row);
                    }
                }
                _ => {}
            }
        }
        let by_due = |a: &DossierRow, b: &DossierRow| a.effective_due_at.cmp(&b.effective_due_at);
        overdue.sort_by(by_due);
        due_soon.sort_by(by_due);
        Ok(Deadlines { overdue, due_soon })
    }

    /// One dossier with everything its page and forms show.
    pub fn dossier(&mut self, doc_id: &str, now: i64) -> WebResult<DossierView> {
        let id = Self::doc_id(doc_id)?;
        let doc = self.replica.doc(&id).map_err(err)?;
        let dossier = doc.read().map_err(err)?;
        let calendar = self.calendar(year_of(now)?)?;
        let mut row = self.row(&id, &dossier, &calendar, now);
        let conflicts = self.conflict_views(&id, &dossier, &doc);
        row.conflicts = conflicts.len();
        let progress = dossier.progress();
        let mut timeline: Vec<TimelineEntry> = progress
            .timeline
            .iter()
            .map(|e| TimelineEntry::of(e, None))
            .collect();
        for (entry, why) in &progress.overruled {
            let why = match why {
                Overruled::AfterClose { closed_by } => format!("after close by {closed_by}"),
                Overruled::LosingFinal { winner } => format!("lost to {winner}"),
            };
            timeline.push(TimelineEntry::of(entry, Some(why)));
        }
        timeline.sort_by_key(|e| e.at);
        let supplement = match progress.current {
            Some(Stage::SupplementRequested) => progress
                .timeline
                .iter()
                .rev()
                .find(|e| e.stage == Stage::SupplementRequested)
                .map(|e| TimelineEntry::of(e, None)),
            _ => None,
        };
        let next_stages = progress
            .current
            .map(|s| s.next_stages().iter().map(|n| Named::stage(*n)).collect())
            .unwrap_or_default();
        let units = self.units();
        let unit = units.as_ref().and_then(|t| t.get(&dossier.unit)).cloned();
        let parent_unit_name = unit
            .as_ref()
            .and_then(|u| u.parent.as_ref())
            .and_then(|p| units.as_ref().and_then(|t| t.get(p)))
            .map(|p| p.name.clone());
        let catalogue = self.catalogue();
        let refusal = self.refusal_view(&id);
        Ok(DossierView {
            row,
            register_book: format!("Sổ theo dõi hồ sơ năm {}", dossier.code.date().year()),
            register_number: dossier.code.number(),
            field_name: field_name(&catalogue, &dossier.field),
            unit_name: unit
                .map(|u| u.name)
                .unwrap_or_else(|| dossier.unit.to_string()),
            parent_unit_name,
            timeline,
            next_stages,
            conflicts,
            refusal,
            supplement,
            dossier,
        })
    }

    fn conflict_views(
        &self,
        id: &DocId,
        dossier: &Dossier,
        doc: &client_core::dossier::DossierDoc,
    ) -> Vec<ConflictView> {
        let mine = self.replica.actor().to_hex_string();
        doc.conflicts()
            .into_iter()
            .map(|conflict| ConflictView {
                doc_id: id.to_string(),
                code: dossier.code.to_string(),
                applicant: dossier.applicant.full_name.clone(),
                who: conflict
                    .values
                    .iter()
                    .map(|v| {
                        let by = v.by.clone().unwrap_or_else(|| v.actor.clone());
                        if v.actor == mine {
                            format!("{by} (máy này / this device)")
                        } else {
                            by
                        }
                    })
                    .collect(),
                conflict,
            })
            .collect()
    }

    fn refusal_view(&self, id: &DocId) -> Option<RefusalView> {
        let meta = self.replica.meta(id)?;
        let refused = meta.refused.as_ref()?;
        Some(RefusalView {
            doc_id: id.to_string(),
            code: meta.dossier.as_ref().map(|d| d.code.to_string()),
            applicant: meta.dossier.as_ref().map(|d| d.applicant.full_name.clone()),
            reason: refused.reason.clone(),
            message: refused.message.clone(),
        })
    }

    /// Fields edited concurrently, and changes the hub refused.
    pub fn inbox(&mut self) -> WebResult<Inbox> {
        let ids: Vec<DocId> = self.replica.metas().map(|m| m.id).collect();
        let mut conflicts = Vec::new();
        let mut refused = Vec::new();
        for id in ids {
            if let Some(r) = self.refusal_view(&id) {
                refused.push(r);
            }
            let Some(dossier) = self
                .replica
                .meta(&id)
                .and_then(|m| m.dossier.as_deref())
                .cloned()
            else {
                continue;
            };
            let doc = self.replica.doc(&id).map_err(err)?;
            conflicts.extend(self.conflict_views(&id, &dossier, &doc));
        }
        Ok(Inbox { conflicts, refused })
    }

    /// Report 06a for `from`..=`to` over the dossiers on this device (its
    /// unit and, for a higher level, the units below), with the codes behind
    /// every figure. Computed by client-core's statistics, as the hub does.
    pub fn statistics(&mut self, from: &str, to: &str) -> WebResult<StatisticsView> {
        let date = |s: &str| {
            chrono::NaiveDate::parse_from_str(s, "%Y-%m-%d")
                .map_err(|_| WebError::field("period", format!("'{s}' is not a date (YYYY-MM-DD)")))
        };
        let period = Period::new(date(from)?, date(to)?)
            .map_err(|e| WebError::field("period", e.to_string()))?;
        let calendar = self.calendar(period.to().year())?;
        let facts: Vec<DossierFacts> = self
            .replica
            .dossiers()
            .map(|(_, d)| DossierFacts::from_dossier(d))
            .collect();
        let summary = Report06a::compute(&facts, period, &calendar).summary(true);
        let units = self.units();
        let catalogue = self.catalogue();
        let unit_names = summary
            .by_unit
            .iter()
            .map(|r| {
                let name = UnitCode::parse(&r.key)
                    .ok()
                    .and_then(|c| {
                        units
                            .as_ref()
                            .and_then(|t| t.get(&c))
                            .map(|u| u.name.clone())
                    })
                    .unwrap_or_else(|| r.key.clone());
                (r.key.clone(), name)
            })
            .collect();
        let field_names = summary
            .by_field
            .iter()
            .map(|r| (r.key.clone(), field_name(&catalogue, &r.key)))
            .collect();
        Ok(StatisticsView {
            columns: Column::ALL
                .iter()
                .map(|c| Named {
                    id: c.key().to_string(),
                    vi: c.name_vi().to_string(),
                    en: c.name_en().to_string(),
                })
                .collect(),
            on_time_rate: Named {
                id: "on_time_rate".into(),
                vi: ON_TIME_RATE_VI.into(),
                en: ON_TIME_RATE_EN.into(),
            },
            unit_names,
            field_names,
            summary,
        })
    }

    /// Whether every document is at the hub and the connection is live.
    pub fn is_in_sync(&self) -> bool {
        self.engine.is_in_sync()
    }

    /// For tests: the replica's sync view.
    pub fn replica_mut(&mut self) -> &mut impl SyncReplica {
        &mut self.replica
    }
}

fn year_of(now: i64) -> WebResult<i32> {
    time::from_millis(now)
        .map(|t| t.year())
        .ok_or_else(|| err("the clock is out of range"))
}

fn field_name(catalogue: &Catalogue, field: &str) -> Named {
    match catalogue.field(field) {
        Some(f) => Named {
            id: field.to_string(),
            vi: f.name_vi.clone(),
            en: f.name_en.clone(),
        },
        None => Named {
            id: field.to_string(),
            vi: field.to_string(),
            en: field.to_string(),
        },
    }
}
