/**
 * A browser queue for `track`: events are buffered and sent in batches, every
 * `flushIntervalMs`, as soon as `flushAt` are waiting, and when the page is hidden or left
 * (`visibilitychange`, `pagehide`) with `keepalive: true`, so that they survive the unload.
 */
import type { Lehnz } from './client.js';
import { withEventIds } from './client.js';
import { LehnzError } from './errors.js';
import type { IdentifyParams, TrackEvent } from './types.js';

export interface QueueOptions {
  /** Send as soon as this many events wait. Default 100 (at most 1,000). */
  flushAt?: number;
  /** Send what waits this often. Default 2,000 ms. */
  flushIntervalMs?: number;
  /** At most this many events are kept while the server cannot be reached; the oldest go first. Default 10,000. */
  maxQueueSize?: number;
  /** Called when a batch fails for good (or is dropped); the queue never throws from a timer. */
  onError?: (error: unknown, events: TrackEvent[]) => void;
}

/** Browsers allow at most 64 KiB of `keepalive` bodies in flight: page-hide batches stay under this. */
const KEEPALIVE_BYTES = 60_000;
const MAX_BATCH = 1000;

export class EventQueue {
  private buffer: TrackEvent[] = [];
  private timer: ReturnType<typeof setInterval> | undefined;
  private sending: Promise<void> = Promise.resolve();
  private closed = false;
  private readonly flushAt: number;
  private readonly maxQueueSize: number;
  private readonly onError: (error: unknown, events: TrackEvent[]) => void;
  private readonly onHidden: () => void;

  constructor(
    private readonly client: Lehnz,
    options: QueueOptions = {},
  ) {
    this.flushAt = Math.min(Math.max(1, options.flushAt ?? 100), MAX_BATCH);
    this.maxQueueSize = Math.max(this.flushAt, options.maxQueueSize ?? 10_000);
    this.onError =
      options.onError ??
      ((error) => {
        console.warn('lehnz: events could not be sent:', error);
      });
    const interval = options.flushIntervalMs ?? 2000;
    if (interval > 0) {
      this.timer = setInterval(() => void this.flush(), interval);
      // Do not keep a Node process alive for the timer.
      (this.timer as { unref?: () => void }).unref?.();
    }
    this.onHidden = () => {
      const doc = (globalThis as { document?: Document }).document;
      if (!doc || doc.visibilityState === 'hidden') this.flushOnHide();
    };
    const target = globalThis as { addEventListener?: typeof addEventListener; document?: Document };
    target.document?.addEventListener('visibilitychange', this.onHidden);
    target.addEventListener?.('pagehide', this.onHidden);
  }

  /** Events waiting to be sent. */
  get size(): number {
    return this.buffer.length;
  }

  /** Queues events (each gets an `event_id` now, so that a retry is stored once). */
  track(events: TrackEvent | readonly TrackEvent[]): void {
    if (this.closed) throw new LehnzError('This queue is closed', { code: 'queue_closed' });
    const list = Array.isArray(events) ? (events as readonly TrackEvent[]) : [events as TrackEvent];
    this.buffer.push(...withEventIds(list));
    if (this.buffer.length > this.maxQueueSize) {
      const dropped = this.buffer.splice(0, this.buffer.length - this.maxQueueSize);
      this.onError(new LehnzError(`Queue full: ${dropped.length} oldest events dropped`, { code: 'queue_full' }), dropped);
    }
    if (this.buffer.length >= this.flushAt) void this.flush();
  }

  /** Queues an `identify` event. */
  identify(params: IdentifyParams): void {
    this.track({ ...params, event_name: 'identify' });
  }

  /** Sends everything waiting, in batches of at most 1,000; resolves when sent (or failed, see `onError`). */
  flush(): Promise<void> {
    this.sending = this.sending.then(async () => {
      while (this.buffer.length > 0) {
        const batch = this.buffer.splice(0, MAX_BATCH);
        try {
          await this.client.track(batch);
        } catch (error) {
          this.onError(error, batch);
        }
      }
    });
    return this.sending;
  }

  /** On page hide: send what waits now, with `keepalive`, in bodies small enough for it. */
  private flushOnHide(): void {
    const events = this.buffer.splice(0);
    let batch: TrackEvent[] = [];
    let bytes = 2;
    const send = (): void => {
      const sent = batch;
      this.client.track(sent, { keepalive: true, maxRetries: 0 }).catch((error: unknown) => this.onError(error, sent));
    };
    for (const event of events) {
      const size = JSON.stringify(event).length + 1;
      if (batch.length > 0 && (bytes + size > KEEPALIVE_BYTES || batch.length >= MAX_BATCH)) {
        send();
        batch = [];
        bytes = 2;
      }
      batch.push(event);
      bytes += size;
    }
    if (batch.length > 0) send();
  }

  /** Sends what waits and stops the timer and the page listeners. */
  async close(): Promise<void> {
    if (this.timer !== undefined) clearInterval(this.timer);
    this.timer = undefined;
    const target = globalThis as { removeEventListener?: typeof removeEventListener; document?: Document };
    target.document?.removeEventListener('visibilitychange', this.onHidden);
    target.removeEventListener?.('pagehide', this.onHidden);
    await this.flush();
    this.closed = true;
  }
}
