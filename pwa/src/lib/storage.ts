// IndexedDB: where the replica lives between visits. The core hands out
// write batches; each is written here in one transaction, in order, so what
// is on disk is always a state the core once had.
//
// One database per user of this browser: a counter tablet shared by two
// clerks keeps each one's device apart.
import type { Write } from '../wasm-pkg/motcua';

const VERSION = 1;

function request<T>(r: IDBRequest<T>): Promise<T> {
  return new Promise((resolve, reject) => {
    r.onsuccess = () => resolve(r.result);
    r.onerror = () => reject(r.error);
  });
}

function done(tx: IDBTransaction): Promise<void> {
  return new Promise((resolve, reject) => {
    tx.oncomplete = () => resolve();
    tx.onerror = () => reject(tx.error);
    tx.onabort = () => reject(tx.error ?? new Error('IndexedDB transaction aborted'));
  });
}

export interface Stored {
  docs: { id: string; bytes: Uint8Array }[];
  metas: string[];
  checkpoint: string | null;
}

export class ReplicaStore {
  private constructor(private db: IDBDatabase) {}

  static async open(user: string): Promise<ReplicaStore> {
    const open = indexedDB.open(`motcua-${user}`, VERSION);
    open.onupgradeneeded = () => {
      const db = open.result;
      db.createObjectStore('docs');
      db.createObjectStore('metas');
      db.createObjectStore('kv');
    };
    const db = await request(open);
    if (navigator.storage?.persist) {
      // Ask the browser not to evict the replica under storage pressure.
      navigator.storage.persist().catch(() => undefined);
    }
    return new ReplicaStore(db);
  }

  async get<T>(key: string): Promise<T | undefined> {
    const tx = this.db.transaction('kv', 'readonly');
    return (await request(tx.objectStore('kv').get(key))) as T | undefined;
  }

  async set(key: string, value: unknown): Promise<void> {
    const tx = this.db.transaction('kv', 'readwrite');
    tx.objectStore('kv').put(value, key);
    await done(tx);
  }

  async load(): Promise<Stored> {
    const tx = this.db.transaction(['docs', 'metas', 'kv'], 'readonly');
    const docStore = tx.objectStore('docs');
    const [keys, values, metas, checkpoint] = await Promise.all([
      request(docStore.getAllKeys()),
      request(docStore.getAll()),
      request(tx.objectStore('metas').getAll()),
      request(tx.objectStore('kv').get('checkpoint')),
    ]);
    const docs = keys.map((id, i) => {
      const chunks = (values[i] as Uint8Array[]) ?? [];
      const size = chunks.reduce((n, c) => n + c.length, 0);
      const bytes = new Uint8Array(size);
      let at = 0;
      for (const c of chunks) {
        bytes.set(c, at);
        at += c.length;
      }
      return { id: String(id), bytes };
    });
    return { docs, metas: metas as string[], checkpoint: (checkpoint as string | undefined) ?? null };
  }

  /** Writes one batch of the core's in one transaction. */
  async write(batch: Write): Promise<void> {
    const tx = this.db.transaction(['docs', 'metas', 'kv'], 'readwrite');
    const docs = tx.objectStore('docs');
    for (let i = 0; i < batch.docCount(); i++) {
      const id = batch.docId(i);
      const bytes = batch.docBytes(i);
      if (batch.docIsSnapshot(i)) {
        docs.put([bytes], id);
      } else {
        const chunks = ((await request(docs.get(id))) as Uint8Array[] | undefined) ?? [];
        chunks.push(bytes);
        docs.put(chunks, id);
      }
    }
    const metas = tx.objectStore('metas');
    for (const [id, json] of JSON.parse(batch.metas()) as [string, string][]) metas.put(json, id);
    const checkpoint = batch.checkpoint();
    if (checkpoint) tx.objectStore('kv').put(checkpoint, 'checkpoint');
    batch.free();
    await done(tx);
  }
}
