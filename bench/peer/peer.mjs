// The peer side of the benchmarks: automerge-repo clients holding the same
// dossiers as Automerge documents, against the published automerge-repo sync
// server (started by the harness from node_modules).
//
//   node peer.mjs build   --storage DIR --dossiers FILE.jsonl --manifest OUT.json   (the server's)
//   node peer.mjs sync    --server URL --storage DIR|- --manifest M [--expect HEADS.json] [--unit U]
//   node peer.mjs change  --server URL --storage DIR --manifest M --dossiers CHANGED.jsonl --heads OUT.json
//   node peer.mjs receive --storage DIR --manifest M --dossiers NEW.jsonl --heads OUT.json
//   node peer.mjs clone   --from DIR --to DIR        (another device with the same documents)
//   node peer.mjs devices --server URL --manifest M --units U1,U2,… [--hold S]
//
// A dossier is one document with the fields and stage log of ours (scalar
// strings, unsigned integers, timestamps), written as ours is: one change to
// receive it, one change per later stage. automerge-repo has no way to list
// documents, so each unit has an index document mapping our document ids to
// automerge URLs; a device finds its unit's index, then every dossier in it.
//
// Every command prints one JSON line with what it did: documents, WebSocket
// messages and bytes each way, and milliseconds until in sync. While waiting
// it prints `progress <synced> <total>` lines on stderr.

import fs from "node:fs"
import { createHash } from "node:crypto"
import * as A from "@automerge/automerge/next"
import { Repo, generateAutomergeUrl, parseAutomergeUrl } from "@automerge/automerge-repo"
import { BrowserWebSocketClientAdapter } from "@automerge/automerge-repo-network-websocket"
import { NodeFSStorageAdapter } from "@automerge/automerge-repo-storage-nodefs"

const started = performance.now()
const [command, ...rest] = process.argv.slice(2)
const args = {}
for (let i = 0; i < rest.length; i += 2) args[rest[i].replace(/^--/, "")] = rest[i + 1]

// WebSocket traffic, counted on the client's sockets.
const traffic = { messages_sent: 0, messages_received: 0, bytes_sent: 0, bytes_received: 0 }

class CountingClientAdapter extends BrowserWebSocketClientAdapter {
  connect(peerId, peerMetadata) {
    super.connect(peerId, peerMetadata)
    const socket = this.socket
    const send = socket.send.bind(socket)
    socket.send = data => {
      traffic.messages_sent += 1
      traffic.bytes_sent += data.byteLength
      send(data)
    }
    socket.addEventListener("message", event => {
      traffic.messages_received += 1
      traffic.bytes_received += event.data.byteLength
    })
  }
}

const S = value => new A.RawString(String(value))
const U = value => new A.Uint(Number(value))
const T = ms => new Date(Number(ms))

function stageEntry(s) {
  return { stage: S(s.stage), at: T(s.at), user: S(s.user), device: S(s.device), unit: S(s.unit), note: S(s.note ?? "") }
}

// The dossier's fields at receipt, as ours writes them in its first change.
function dossierFields(d) {
  return {
    type: S("dossier"),
    schema: U(1),
    code: S(d.code),
    unit: S(d.unit),
    field: S(d.field),
    channel: S(d.channel),
    procedure: { id: S(d.procedure.id), version: S(d.procedure.version), name: S(d.procedure.name) },
    processing: { amount: U(d.processing.amount), unit: S(d.processing.unit) },
    pause_rule: S(d.pause_rule),
    applicant: {
      full_name: S(d.applicant.full_name),
      id_number: S(d.applicant.id_number),
      phone: S(d.applicant.phone ?? ""),
      address: S(d.applicant.address),
    },
    documents: d.documents.map(r => ({ name: S(r.name), form: S(r.form), count: U(r.count) })),
    sets: U(d.sets),
    received_at: T(d.received_at),
    due_at: T(d.due_at),
    fee: { amount_vnd: U(d.fee.amount_vnd), paid: d.fee.paid },
    result_delivery: { method: S(d.result_delivery.method), place: S(d.result_delivery.place) },
    stages: [],
  }
}

function readJsonLines(path) {
  return fs
    .readFileSync(path, "utf8")
    .split("\n")
    .filter(line => line.trim() !== "")
    .map(line => JSON.parse(line))
}

// Stages in the order ours records them (by time, then id).
function stagesOf(d) {
  return [...d.stages].sort((a, b) => a.at - b.at || String(a.id).localeCompare(String(b.id)))
}

// automerge-repo gives up waiting for a document after a minute; a busy
// server can take longer than that to answer, so keep waiting.
async function ready(handle) {
  for (;;) {
    try {
      return await handle.whenReady()
    } catch (error) {
      if (error?.name !== "TimeoutError" && !String(error).includes("timed out")) throw error
    }
  }
}

function makeRepo({ storage, server }) {
  const config = { network: [], sharePolicy: async () => true }
  if (storage && storage !== "-") config.storage = new NodeFSStorageAdapter(storage)
  if (server) config.network = [new CountingClientAdapter(server)]
  return new Repo(config)
}

function loadManifest(path) {
  return fs.existsSync(path) ? JSON.parse(fs.readFileSync(path, "utf8")) : { indexes: {}, docs: {}, heads: {} }
}

function saveJson(path, value) {
  fs.writeFileSync(path, JSON.stringify(value))
}

const sameHeads = (a, b) => a.length === b.length && [...a].sort().join() === [...b].sort().join()

function report(extra) {
  const out = { ...traffic, ...extra, wall_ms: Math.round(performance.now() - started) }
  process.stdout.write(JSON.stringify(out) + "\n")
}

// Creates the dossiers of a JSON lines file in `repo`, and adds them to their
// units' index documents (created when missing).
async function receiveDossiers(repo, manifest, lines) {
  const handles = []
  let made = 0
  for (const { doc_id, dossier } of lines) {
    // Write as we go, a batch at a time, rather than all at the end.
    if (++made % 500 === 0) await repo.flush()
    const [first, ...later] = stagesOf(dossier)
    const handle = repo.create()
    handle.change(doc => {
      Object.assign(doc, dossierFields(dossier))
      doc.stages.push(stageEntry(first))
    })
    for (const stage of later) handle.change(doc => void doc.stages.push(stageEntry(stage)))
    manifest.docs[doc_id] = handle.url
    handles.push(handle)
    let index = manifest.indexes[dossier.unit]
    if (!index) {
      const created = repo.create()
      created.change(doc => {
        doc.type = S("unit-index")
        doc.unit = S(dossier.unit)
        doc.dossiers = {}
      })
      index = manifest.indexes[dossier.unit] = created.url
      handles.push(created)
    }
  }
  // One change per unit index for the whole batch, as a device would after a
  // day's work offline.
  const byUnit = {}
  for (const { doc_id, dossier } of lines) (byUnit[dossier.unit] ??= []).push(doc_id)
  for (const [unit, ids] of Object.entries(byUnit)) {
    const index = repo.find(manifest.indexes[unit])
    await ready(index)
    index.change(doc => {
      for (const id of ids) doc.dossiers[id] = S(manifest.docs[id])
    })
    if (!handles.includes(index)) handles.push(index)
  }
  for (const handle of handles) manifest.heads[handle.url] = A.getHeads(handle.docSync())
  await repo.flush()
  return handles.length
}

// The server's storage as automerge-repo's file storage keeps it, written
// directly: each document as one compacted snapshot (what the server holds
// once it has compacted), made with the same changes as on a device. Far
// quicker than a Repo for a hundred thousand documents.
async function buildStored(dir, manifest, lines) {
  const storage = new NodeFSStorageAdapter(dir)
  const snapshotKey = (id, doc) => {
    const heads = A.getHeads(doc)
    return [id, "snapshot", createHash("sha256").update(heads.join("")).digest("hex")]
  }
  const newId = () => parseAutomergeUrl(generateAutomergeUrl()).documentId
  const url = id => `automerge:${id}`
  const byUnit = {}
  let writes = []
  for (const { doc_id, dossier } of lines) {
    const [first, ...later] = stagesOf(dossier)
    let doc = A.change(A.init(), d => {
      Object.assign(d, dossierFields(dossier))
      d.stages.push(stageEntry(first))
    })
    for (const stage of later) doc = A.change(doc, d => void d.stages.push(stageEntry(stage)))
    const id = newId()
    manifest.docs[doc_id] = url(id)
    manifest.heads[url(id)] = A.getHeads(doc)
    ;(byUnit[dossier.unit] ??= []).push(doc_id)
    writes.push(storage.save(snapshotKey(id, doc), A.save(doc)))
    if (writes.length >= 200) {
      await Promise.all(writes)
      writes = []
    }
  }
  for (const [unit, ids] of Object.entries(byUnit)) {
    let index = A.change(A.init(), d => {
      d.type = S("unit-index")
      d.unit = S(unit)
      d.dossiers = {}
    })
    index = A.change(index, d => {
      for (const id of ids) d.dossiers[id] = S(manifest.docs[id])
    })
    const id = newId()
    manifest.indexes[unit] = url(id)
    manifest.heads[url(id)] = A.getHeads(index)
    writes.push(storage.save(snapshotKey(id, index), A.save(index)))
  }
  await Promise.all(writes)
  return lines.length + Object.keys(byUnit).length
}

// Finds the unit index and every dossier in it, and waits until the server
// has told this client heads equal to its own for every one of them (and
// equal to `expect`, where given).
async function syncUnits(repo, manifest, units, expect, quiet = false) {
  const pending = new Map()
  const done = new Set()
  const check = (url, handle) => {
    const doc = handle.docSync()
    if (!doc || done.has(url)) return
    const heads = A.getHeads(doc)
    const remote = pending.get(url)
    if (remote && sameHeads(remote, heads) && (!expect[url] || sameHeads(expect[url], heads))) done.add(url)
  }
  const track = handle => {
    const url = handle.url
    if (pending.has(url)) return
    pending.set(url, null)
    handle.on("remote-heads", ({ heads }) => {
      pending.set(url, heads)
      check(url, handle)
    })
    // A document that arrives changes its heads before its handle is
    // ready: look again once it is.
    handle.on("heads-changed", () => setTimeout(() => check(url, handle)))
    ready(handle).then(() => check(url, handle))
  }
  const indexes = units.map(unit => repo.find(manifest.indexes[unit]))
  indexes.forEach(track)
  for (const index of indexes) {
    await ready(index)
    for (const url of Object.values(index.docSync().dossiers ?? {})) track(repo.find(String(url)))
  }
  let last = -1
  while (done.size < pending.size) {
    await new Promise(resolve => setTimeout(resolve, 20))
    if (done.size !== last && !quiet) {
      last = done.size
      process.stderr.write(`progress ${done.size} ${pending.size}\n`)
    }
  }
  return { docs: pending.size, synced_ms: Math.round(performance.now() - started) }
}

async function main() {
  switch (command) {
    case "build": {
      const manifest = loadManifest(args.manifest)
      const docs = await buildStored(args.storage, manifest, readJsonLines(args.dossiers))
      saveJson(args.manifest, manifest)
      report({ docs })
      break
    }
    case "receive": {
      // New dossiers received on a device while offline.
      const repo = makeRepo({ storage: args.storage })
      const manifest = loadManifest(args.manifest)
      const docs = await receiveDossiers(repo, manifest, readJsonLines(args.dossiers))
      saveJson(args.manifest, manifest)
      saveJson(args.heads, manifest.heads)
      report({ docs })
      break
    }
    case "sync": {
      const manifest = loadManifest(args.manifest)
      const expect = args.expect ? JSON.parse(fs.readFileSync(args.expect, "utf8")) : {}
      const units = args.unit ? [args.unit] : Object.keys(manifest.indexes)
      const repo = makeRepo({ storage: args.storage, server: args.server })
      const result = await syncUnits(repo, manifest, units, expect)
      await repo.flush()
      report(result)
      process.exit(0)
    }
    case "change": {
      // Another device records the new stages of some dossiers and syncs them.
      const manifest = loadManifest(args.manifest)
      const repo = makeRepo({ storage: args.storage, server: args.server })
      const changed = readJsonLines(args.dossiers)
      const heads = {}
      const handles = []
      for (const { doc_id, dossier } of changed) {
        const handle = repo.find(manifest.docs[doc_id])
        await ready(handle)
        const have = handle.docSync().stages.length
        for (const stage of stagesOf(dossier).slice(have)) handle.change(doc => void doc.stages.push(stageEntry(stage)))
        heads[handle.url] = A.getHeads(handle.docSync())
        handles.push(handle)
      }
      // Done once the server has told this device it holds what the device
      // holds, the new stages included.
      const server = () => Object.values(repo.peerMetadataByPeerId)[0]?.storageId
      const synced = handle => sameHeads(handle.getRemoteHeads(server()) ?? [], A.getHeads(handle.docSync()))
      while (!handles.every(synced)) await new Promise(resolve => setTimeout(resolve, 20))
      for (const handle of handles) heads[handle.url] = A.getHeads(handle.docSync())
      saveJson(args.heads, heads)
      await repo.flush()
      report({ docs: handles.length })
      process.exit(0)
    }
    case "clone": {
      // A copy of a device's storage under a new storage id, so the server
      // sees another device.
      fs.cpSync(args.from, args.to, { recursive: true })
      await new NodeFSStorageAdapter(args.to).remove(["storage-adapter-id"])
      report({})
      break
    }
    case "devices": {
      // Many devices in one process, each syncing its unit, then staying connected.
      const manifest = loadManifest(args.manifest)
      const units = args.units.split(",")
      const results = await Promise.all(
        units.map(unit => syncUnits(makeRepo({ server: args.server }), manifest, [unit], {}, true)),
      )
      report({ devices: units.length, docs: results.reduce((n, r) => n + r.docs, 0) })
      await new Promise(resolve => setTimeout(resolve, Number(args.hold ?? 0) * 1000))
      process.exit(0)
    }
    default:
      console.error("usage: node peer.mjs build|receive|sync|change|devices …")
      process.exit(2)
  }
}

main().catch(error => {
  console.error(error)
  process.exit(1)
})
