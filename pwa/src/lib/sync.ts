// The browser's driver of the core's sync engine: it owns the WebSocket,
// feeds every frame in, sends every frame out, and reconnects by itself
// (with back-off and jitter, and at once when the browser says the link is
// back). No sync logic lives here.
import type { Core, SyncEvent } from './core';

// How long to wait for an answer, and how often to verify, are the core's
// (client-core's `Timers`): this only sleeps until the core's deadline.
const RETRY_MIN_MS = 1_000;
const RETRY_MAX_MS = 30_000;

export interface SyncHooks {
  /** After every step: persist what the core wrote, redraw the status. */
  afterStep(): void;
  onEvent(e: SyncEvent): void;
  /** The hub refused this device for good (revoked, unknown token). */
  onRejected(message: string): void;
}

export class SyncDriver {
  private ws: WebSocket | null = null;
  private retryMs = RETRY_MIN_MS;
  private retryTimer: number | undefined;
  private deadlineTimer: number | undefined;
  private stopped = false;
  private rejected = false;

  constructor(
    private core: Core,
    private hooks: SyncHooks,
  ) {
    window.addEventListener('online', () => this.connectNow());
    window.addEventListener('offline', () => this.ws?.close());
    document.addEventListener('visibilitychange', () => {
      if (document.visibilityState === 'visible') this.connectNow();
    });
  }

  get connected(): boolean {
    return this.ws?.readyState === WebSocket.OPEN;
  }

  start(): void {
    this.stopped = false;
    this.connect();
  }

  stop(): void {
    this.stopped = true;
    window.clearTimeout(this.retryTimer);
    window.clearTimeout(this.deadlineTimer);
    this.ws?.close();
  }

  /** Try now, forgetting the back-off (the link came back, or the user asked). */
  connectNow(): void {
    if (this.stopped) return;
    this.rejected = false;
    this.retryMs = RETRY_MIN_MS;
    window.clearTimeout(this.retryTimer);
    this.connect();
  }

  /** Local changes were made: the core already queued their push. */
  flush(): void {
    this.pump();
  }

  private connect(): void {
    if (this.ws || this.stopped || this.rejected) return;
    const url = new URL('/sync', location.href);
    url.protocol = location.protocol === 'https:' ? 'wss:' : 'ws:';
    let ws: WebSocket;
    try {
      ws = new WebSocket(url);
    } catch {
      this.scheduleRetry();
      return;
    }
    ws.binaryType = 'arraybuffer';
    this.ws = ws;
    ws.onopen = () => {
      try {
        this.core.raw.syncStart(Date.now());
      } catch {
        ws.close();
        return;
      }
      this.pump();
    };
    ws.onmessage = (event) => {
      if (!(event.data instanceof ArrayBuffer)) return;
      try {
        this.core.raw.syncFrame(new Uint8Array(event.data), Date.now());
        this.retryMs = RETRY_MIN_MS;
      } catch {
        // The events say why; the connection is unusable.
        this.pump();
        ws.close();
        return;
      }
      this.pump();
    };
    ws.onclose = () => {
      if (this.ws === ws) this.ws = null;
      this.core.raw.syncDisconnected();
      this.hooks.afterStep();
      this.scheduleRetry();
    };
    ws.onerror = () => undefined;
    this.hooks.afterStep();
  }

  private scheduleRetry(): void {
    if (this.stopped || this.rejected) return;
    window.clearTimeout(this.retryTimer);
    // Full jitter: many tablets coming back at once do not knock together.
    const wait = Math.random() * this.retryMs;
    this.retryMs = Math.min(this.retryMs * 2, RETRY_MAX_MS);
    this.retryTimer = window.setTimeout(() => this.connect(), Math.max(250, wait));
  }

  /** Sleeps until the core's next deadline, then hands it the time. */
  private armDeadline(): void {
    window.clearTimeout(this.deadlineTimer);
    const ws = this.ws;
    if (!ws || ws.readyState !== WebSocket.OPEN) return;
    const at = this.core.raw.syncDeadline();
    if (at === undefined) return;
    this.deadlineTimer = window.setTimeout(() => {
      if (this.ws !== ws) return;
      try {
        this.core.raw.syncTimeout(Date.now());
      } catch {
        // An answer was lost: the events say so.
        this.pump();
        ws.close();
        return;
      }
      this.pump();
    }, Math.max(0, at - Date.now()));
  }

  private pump(): void {
    // Local changes reached the core without a time: give it now.
    this.core.raw.syncAdvance(Date.now());
    const ws = this.ws;
    if (ws && ws.readyState === WebSocket.OPEN) {
      for (let frame = this.core.raw.pollTransmit(); frame; frame = this.core.raw.pollTransmit()) {
        ws.send(frame);
      }
    }
    for (const event of this.core.events()) {
      if (event.kind === 'hub_error' && event.fatal) {
        const permanent = ['Unauthorized', 'Revoked'].includes(event.code);
        if (permanent) {
          this.rejected = true;
          this.hooks.onRejected(event.message);
        }
      }
      this.hooks.onEvent(event);
    }
    this.armDeadline();
    this.hooks.afterStep();
  }
}
