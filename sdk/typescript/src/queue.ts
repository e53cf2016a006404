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

/**
 * Browsers allow at most 64 KiB of `keepalive` bodies in flight per page (Chromium rejects a
 * fetch over it with "Failed to fetch"): page-hide sends stay under this, all together.
 */
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
  private readonly onHidden: (event: Event) => void;
  /** Bytes of keepalive bodies sent and not yet answered. */
  private keepaliveBytes = 0;

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
    // `pagehide` comes before the document is `hidden` (HTML's unload steps; Chromium too):
    // it flushes whatever the visibility; `visibilitychange` flushes when hidden.
    this.onHidden = (event) => {
      const doc = (globalThis as { document?: Document }).document;
      if (event?.type === 'pagehide' || !doc || doc.visibilityState === 'hidden') this.flushOnHide();
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

  /**
   * On page hide: send what waits now, with `keepalive`, in bodies that together stay under
   * the browser's keepalive limit; the rest (if any) is sent at once without `keepalive`: it
   * arrives if the page stays (a hidden tab) and, leaving, if it goes out before the page is
   * torn down.
   */
  private flushOnHide(): void {
    const events = this.buffer.splice(0);
    const encoder = typeof TextEncoder === 'function' ? new TextEncoder() : undefined;
    let budget = KEEPALIVE_BYTES - this.keepaliveBytes;
    let batch: TrackEvent[] = [];
    let bytes = 2;
    const send = (): void => {
      const sent = batch;
      const size = bytes;
      this.keepaliveBytes += size;
      this.client
        .track(sent, { keepalive: true, maxRetries: 0 })
        .catch((error: unknown) => this.onError(error, sent))
        .finally(() => {
          this.keepaliveBytes -= size;
        });
    };
    let i = 0;
    for (; i < events.length; i++) {
      const event = events[i] as TrackEvent;
      const json = JSON.stringify(event);
      const size = (encoder ? encoder.encode(json).length : json.length * 3) + 1;
      if (batch.length > 0 && (bytes + size > budget || batch.length >= MAX_BATCH)) {
        send();
        budget -= bytes;
        batch = [];
        bytes = 2;
      }
      if (bytes + size > budget) break;
      batch.push(event);
      bytes += size;
    }
    if (batch.length > 0) send();
    for (let start = i; start < events.length; start += MAX_BATCH) {
      const rest = events.slice(start, start + MAX_BATCH);
      this.client.track(rest).catch((error: unknown) => this.onError(error, rest));
    }
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
