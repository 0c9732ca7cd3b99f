//! The surface the page sees: one class, `Device`, whose methods take and
//! return JSON text and byte arrays. Errors reach JavaScript as exceptions
//! carrying a [`crate::WebError`] as JSON (`{"field": …, "message": …}`).
//!
//! Nothing here decides anything; each method converts and calls
//! [`crate::BrowserDevice`].

use automerge::ActorId;
use client_core::stage::Stage;
use serde::Serialize;
use wasm_bindgen::prelude::*;

use crate::device::{BrowserDevice, Identity, ReceiveForm, WebError};
use crate::persist::SavedState;

fn to_js<T: Serialize>(value: &T) -> Result<String, JsValue> {
    serde_json::to_string(value).map_err(|e| fail(WebError::new(e.to_string())))
}

fn fail(e: WebError) -> JsValue {
    JsValue::from_str(&serde_json::to_string(&e).unwrap_or_else(|_| e.message.clone()))
}

fn parse<T: serde::de::DeserializeOwned>(what: &str, json: &str) -> Result<T, JsValue> {
    serde_json::from_str(json).map_err(|e| fail(WebError::new(format!("{what}: {e}"))))
}

/// A fresh Automerge actor for a new browser device, as hex.
#[wasm_bindgen(js_name = newActor)]
pub fn new_actor() -> String {
    ActorId::random().to_hex_string()
}

/// Vietnamese folding, for highlighting matches (search itself runs here).
#[wasm_bindgen(js_name = foldText)]
pub fn fold_text(text: &str) -> String {
    client_core::search::fold(text)
}

/// Saved state, handed in record by record before [`Device::open`].
#[wasm_bindgen]
#[derive(Default)]
pub struct Saved {
    state: SavedState,
}

#[wasm_bindgen]
impl Saved {
    #[wasm_bindgen(constructor)]
    pub fn new() -> Saved {
        Saved::default()
    }

    pub fn checkpoint(&mut self, json: String) {
        self.state.checkpoint = Some(json);
    }

    pub fn meta(&mut self, json: String) {
        self.state.metas.push(json);
    }

    /// A document's stored bytes (snapshot and appended chunks, in order).
    pub fn doc(&mut self, id: String, bytes: Vec<u8>) {
        self.state.docs.push((id, bytes));
    }
}

/// One write batch to persist; the page reads its parts and writes them in
/// one IndexedDB transaction.
#[wasm_bindgen]
pub struct Write {
    batch: crate::persist::SavedBatch,
}

#[wasm_bindgen]
impl Write {
    #[wasm_bindgen(js_name = docCount)]
    pub fn doc_count(&self) -> usize {
        self.batch.docs.len()
    }

    #[wasm_bindgen(js_name = docId)]
    pub fn doc_id(&self, i: usize) -> String {
        self.batch
            .docs
            .get(i)
            .map(|d| d.id.clone())
            .unwrap_or_default()
    }

    #[wasm_bindgen(js_name = docIsSnapshot)]
    pub fn doc_is_snapshot(&self, i: usize) -> bool {
        self.batch.docs.get(i).is_some_and(|d| d.snapshot)
    }

    #[wasm_bindgen(js_name = docBytes)]
    pub fn doc_bytes(&self, i: usize) -> Vec<u8> {
        self.batch
            .docs
            .get(i)
            .map(|d| d.bytes.clone())
            .unwrap_or_default()
    }

    /// `[[id, json], …]`
    pub fn metas(&self) -> Result<String, JsValue> {
        to_js(&self.batch.metas)
    }

    pub fn checkpoint(&self) -> Option<String> {
        self.batch.checkpoint.clone()
    }
}

#[wasm_bindgen]
pub struct Device {
    inner: BrowserDevice,
    report: String,
}

#[wasm_bindgen]
impl Device {
    /// Opens the device. `identity` is the enrolment as JSON; `actor` hex.
    pub fn open(identity: &str, actor: &str, saved: Saved) -> Result<Device, JsValue> {
        let identity: Identity = parse("identity", identity)?;
        let actor = hex::decode(actor)
            .map(ActorId::from)
            .map_err(|e| fail(WebError::new(format!("actor: {e}"))))?;
        let (inner, report) = BrowserDevice::open(identity, actor, saved.state).map_err(fail)?;
        Ok(Device {
            inner,
            report: serde_json::to_string(&report).unwrap_or_default(),
        })
    }

    /// What restoring repaired (`{"rebuilt": [...], "unreadable": [...]}`).
    #[wasm_bindgen(js_name = restoreReport)]
    pub fn restore_report(&self) -> String {
        self.report.clone()
    }

    /// The identity as the hub last confirmed it (code slots may change).
    pub fn identity(&self) -> Result<String, JsValue> {
        to_js(self.inner.identity())
    }

    #[wasm_bindgen(js_name = takeWrites)]
    pub fn take_writes(&mut self) -> Vec<Write> {
        self.inner
            .take_writes()
            .into_iter()
            .map(|batch| Write { batch })
            .collect()
    }

    // sync

    /// `now`: the page's milliseconds (`Date.now()`), here and below.
    #[wasm_bindgen(js_name = syncStart)]
    pub fn sync_start(&mut self, now: f64) -> Result<(), JsValue> {
        self.inner.sync_start(millis(now)).map_err(fail)
    }

    #[wasm_bindgen(js_name = syncFrame)]
    pub fn sync_frame(&mut self, frame: &[u8], now: f64) -> Result<(), JsValue> {
        self.inner.sync_frame(frame, millis(now)).map_err(fail)
    }

    #[wasm_bindgen(js_name = syncAdvance)]
    pub fn sync_advance(&mut self, now: f64) {
        self.inner.sync_advance(millis(now))
    }

    /// When to call `syncTimeout` next, if ever.
    #[wasm_bindgen(js_name = syncDeadline)]
    pub fn sync_deadline(&self) -> Option<f64> {
        self.inner.sync_deadline().map(|at| at as f64)
    }

    #[wasm_bindgen(js_name = syncTimeout)]
    pub fn sync_timeout(&mut self, now: f64) -> Result<(), JsValue> {
        self.inner.sync_timeout(millis(now)).map_err(fail)
    }

    #[wasm_bindgen(js_name = syncDisconnected)]
    pub fn sync_disconnected(&mut self) {
        self.inner.sync_disconnected()
    }

    #[wasm_bindgen(js_name = pollTransmit)]
    pub fn poll_transmit(&mut self) -> Option<Vec<u8>> {
        self.inner.poll_transmit()
    }

    #[wasm_bindgen(js_name = takeEvents)]
    pub fn take_events(&mut self) -> Result<String, JsValue> {
        to_js(&self.inner.take_events())
    }

    pub fn status(&self) -> Result<String, JsValue> {
        to_js(&self.inner.status())
    }

    // configuration

    pub fn procedures(&mut self, query: &str) -> Result<String, JsValue> {
        to_js(&self.inner.procedures(query))
    }

    pub fn catalogue(&mut self) -> Result<String, JsValue> {
        to_js(&self.inner.catalogue())
    }

    pub fn units(&mut self) -> Result<String, JsValue> {
        let units: Vec<client_core::units::Unit> = self
            .inner
            .units()
            .map(|t| t.units().cloned().collect())
            .unwrap_or_default();
        to_js(&units)
    }

    #[wasm_bindgen(js_name = calendarYear)]
    pub fn calendar_year(&mut self, year: i32) -> Result<String, JsValue> {
        to_js(&self.inner.calendar_year(year).map_err(fail)?)
    }

    // the counter

    pub fn receive(&mut self, form: &str, now: f64) -> Result<String, JsValue> {
        let form: ReceiveForm = parse("form", form)?;
        to_js(&self.inner.receive(form, now as i64).map_err(fail)?)
    }

    #[wasm_bindgen(js_name = recordStage)]
    pub fn record_stage(
        &mut self,
        doc_id: &str,
        stage: &str,
        note: &str,
        now: f64,
    ) -> Result<String, JsValue> {
        let stage: Stage = stage
            .parse()
            .map_err(|e: client_core::stage::UnknownStage| fail(WebError::new(e.to_string())))?;
        to_js(
            &self
                .inner
                .record_stage(doc_id, stage, note, now as i64)
                .map_err(fail)?,
        )
    }

    /// `missing` is a JSON array of document names.
    #[wasm_bindgen(js_name = requestSupplement)]
    pub fn request_supplement(
        &mut self,
        doc_id: &str,
        missing: &str,
        note: &str,
        now: f64,
    ) -> Result<String, JsValue> {
        let missing: Vec<String> = parse("missing", missing)?;
        to_js(
            &self
                .inner
                .request_supplement(doc_id, &missing, note, now as i64)
                .map_err(fail)?,
        )
    }

    #[wasm_bindgen(js_name = supplementArrived)]
    pub fn supplement_arrived(
        &mut self,
        doc_id: &str,
        note: &str,
        now: f64,
    ) -> Result<String, JsValue> {
        to_js(
            &self
                .inner
                .supplement_arrived(doc_id, note, now as i64)
                .map_err(fail)?,
        )
    }

    #[wasm_bindgen(js_name = returnResult)]
    pub fn return_result(&mut self, doc_id: &str, note: &str, now: f64) -> Result<String, JsValue> {
        to_js(
            &self
                .inner
                .return_result(doc_id, note, now as i64)
                .map_err(fail)?,
        )
    }

    #[wasm_bindgen(js_name = editField)]
    pub fn edit_field(
        &mut self,
        doc_id: &str,
        path: &str,
        value: &str,
        now: f64,
    ) -> Result<String, JsValue> {
        to_js(
            &self
                .inner
                .edit_field(doc_id, path, value, now as i64)
                .map_err(fail)?,
        )
    }

    #[wasm_bindgen(js_name = discardRefused)]
    pub fn discard_refused(&mut self, doc_id: &str) -> Result<(), JsValue> {
        self.inner.discard_refused(doc_id).map_err(fail)
    }

    // queries

    pub fn search(&mut self, query: &str, now: f64) -> Result<String, JsValue> {
        to_js(&self.inner.search(query, now as i64).map_err(fail)?)
    }

    pub fn deadlines(&mut self, now: f64) -> Result<String, JsValue> {
        to_js(&self.inner.deadlines(now as i64).map_err(fail)?)
    }

    pub fn dossier(&mut self, doc_id: &str, now: f64) -> Result<String, JsValue> {
        to_js(&self.inner.dossier(doc_id, now as i64).map_err(fail)?)
    }

    /// Report 06a for a period (`YYYY-MM-DD` dates, both included).
    pub fn statistics(&mut self, from: &str, to: &str) -> Result<String, JsValue> {
        to_js(&self.inner.statistics(from, to).map_err(fail)?)
    }

    pub fn inbox(&mut self) -> Result<String, JsValue> {
        to_js(&self.inner.inbox().map_err(fail)?)
    }
}

/// A page time in milliseconds as the engine counts it.
fn millis(now: f64) -> client_core::sync::device::Millis {
    now.max(0.0) as client_core::sync::device::Millis
}
