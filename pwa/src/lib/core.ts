// The WebAssembly core, typed. Everything the counter decides — codes,
// appointments, stages, search, deadlines, conflicts, sync — happens in
// there; this file only turns its JSON into TypeScript values.
import init, { Device, Saved, newActor } from '../wasm-pkg/motcua';
import wasmUrl from '../wasm-pkg/motcua_bg.wasm?url';

export interface Named { id: string; vi: string; en: string }

export interface HandedDocument { name: string; form: 'original' | 'copy' | 'certified_copy'; count: number }

export interface Dossier {
  code: string;
  unit: string;
  field: string;
  procedure: { id: string; version: string; name: string };
  processing: { amount: number; unit: 'working_days' | 'working_hours' };
  channel: 'direct' | 'postal' | 'online';
  applicant: { full_name: string; id_number: string; phone: string | null; address: string };
  documents: HandedDocument[];
  sets: number;
  received_at: number;
  due_at: number;
  fee: { amount_vnd: number; paid: boolean };
  result_delivery: { method: 'counter' | 'post' | 'online'; place: string };
}

export type Timeliness = 'early' | 'on_time' | 'late' | 'within_deadline' | 'overdue';

export interface DossierRow {
  doc_id: string;
  code: string;
  applicant: string;
  id_number: string;
  phone: string | null;
  procedure: string;
  field: string;
  stage: Named | null;
  status: Named | null;
  received_at: number;
  due_at: number;
  effective_due_at: number | null;
  timeliness: Timeliness | null;
  clock_stopped: boolean;
  closed: boolean;
  pending: boolean;
  refused: boolean;
  conflicts: number;
}

export interface TimelineEntry { stage: Named; at: number; user: string; device: string; unit: string; note: string; missing: string[]; overruled: string | null }

export interface ConflictValue { value: string; actor: string; at: number | null; by: string | null; shown: boolean }
export interface ConflictView {
  doc_id: string;
  code: string;
  applicant: string;
  conflict: { field: string; path: string; values: ConflictValue[] };
  who: string[];
}
export interface RefusalView { doc_id: string; code: string | null; applicant: string | null; reason: string; message: string }

export interface DossierView {
  row: DossierRow;
  dossier: Dossier;
  timeline: TimelineEntry[];
  next_stages: Named[];
  conflicts: ConflictView[];
  refusal: RefusalView | null;
  unit_name: string;
  parent_unit_name: string | null;
  field_name: Named;
  register_book: string;
  register_number: number;
  supplement: TimelineEntry | null;
}

export interface ProcedureView {
  procedure: {
    id: string;
    version: string;
    name: string;
    field: string;
    processing_time: { amount: number; unit: 'working_days' | 'working_hours' };
    fee: { amount_vnd: number; note: string };
    required_documents: { name: string; form: string; count: number }[];
    result: string;
  };
  field_name: Named;
  checklist: HandedDocument[];
}

export interface SyncStatus {
  connected: boolean;
  waiting: boolean;
  in_sync: boolean;
  pending: number;
  in_flight: number;
  documents: number;
  received_this_connection: number;
  acknowledged_this_connection: number;
  phase: 'offline' | 'connecting' | 'catching_up' | 'checking' | 'live';
  bytes_received: number;
  bytes_sent: number;
}

export type SyncEvent =
  | { kind: 'welcomed'; device: string; unit: string; code_slots: number[]; hub_time: number }
  | { kind: 'received'; docs: number }
  | { kind: 'acknowledged'; docs: number }
  | { kind: 'refused'; doc_id: string; reason: string; message: string }
  | { kind: 'unreadable'; doc_id: string; message: string }
  | { kind: 'caught_up' }
  | { kind: 'in_sync'; repaired: number }
  | { kind: 'hub_error'; code: string; message: string; fatal: boolean };

export interface Identity {
  token: string;
  device_id: string;
  device_name: string;
  unit: string;
  code_slots: number[];
  user: string;
  user_full_name: string;
}

export interface Deadlines { overdue: DossierRow[]; due_soon: DossierRow[] }
export interface Inbox { conflicts: ConflictView[]; refused: RefusalView[] }

/** An error from the core: what was wrong, and the form field at fault. */
export class CoreError extends Error {
  constructor(message: string, public field: string | null) {
    super(message);
  }
}

function call<T>(f: () => string): T {
  try {
    return JSON.parse(f()) as T;
  } catch (e) {
    throw coreError(e);
  }
}

export function coreError(e: unknown): CoreError {
  if (typeof e === 'string') {
    try {
      const parsed = JSON.parse(e) as { message: string; field: string | null };
      return new CoreError(parsed.message, parsed.field);
    } catch {
      return new CoreError(e, null);
    }
  }
  return new CoreError(e instanceof Error ? e.message : String(e), null);
}

let ready: Promise<unknown> | null = null;

export function loadCore(): Promise<unknown> {
  ready ??= init({ module_or_path: wasmUrl });
  return ready;
}

export function freshActor(): string {
  return newActor();
}

/** The core's device, typed. */
export class Core {
  constructor(public raw: Device) {}

  static open(identity: Identity, actor: string, stored: { docs: { id: string; bytes: Uint8Array }[]; metas: string[]; checkpoint: string | null }): Core {
    const saved = new Saved();
    if (stored.checkpoint) saved.checkpoint(stored.checkpoint);
    for (const m of stored.metas) saved.meta(m);
    for (const d of stored.docs) saved.doc(d.id, d.bytes);
    try {
      return new Core(Device.open(JSON.stringify(identity), actor, saved));
    } catch (e) {
      throw coreError(e);
    }
  }

  identity(): Identity { return call(() => this.raw.identity()); }
  status(): SyncStatus { return call(() => this.raw.status()); }
  events(): SyncEvent[] { return call(() => this.raw.takeEvents()); }
  procedures(q: string): ProcedureView[] { return call(() => this.raw.procedures(q)); }
  units(): { code: string; name: string; level: string; parent: string | null }[] { return call(() => this.raw.units()); }
  search(q: string): DossierRow[] { return call(() => this.raw.search(q, Date.now())); }
  deadlines(): Deadlines { return call(() => this.raw.deadlines(Date.now())); }
  dossier(id: string): DossierView { return call(() => this.raw.dossier(id, Date.now())); }
  inbox(): Inbox { return call(() => this.raw.inbox()); }
  receive(form: unknown): DossierView { return call(() => this.raw.receive(JSON.stringify(form), Date.now())); }
  recordStage(id: string, stage: string, note: string): DossierView { return call(() => this.raw.recordStage(id, stage, note, Date.now())); }
  requestSupplement(id: string, missing: string[], note: string): DossierView {
    return call(() => this.raw.requestSupplement(id, JSON.stringify(missing), note, Date.now()));
  }
  supplementArrived(id: string, note: string): DossierView { return call(() => this.raw.supplementArrived(id, note, Date.now())); }
  returnResult(id: string, note: string): DossierView { return call(() => this.raw.returnResult(id, note, Date.now())); }
  editField(id: string, path: string, value: string): DossierView { return call(() => this.raw.editField(id, path, value, Date.now())); }
  discardRefused(id: string): void {
    try { this.raw.discardRefused(id); } catch (e) { throw coreError(e); }
  }
}
