import { LehnzError } from './errors.js';
import { EventQueue, type QueueOptions } from './queue.js';
import { Transport, encodeId, rootUrl, type FetchLike, type RequestOptions, type RequestSpec } from './core.js';
import type {
  BasketRecommendations,
  BasketRequest,
  EventImportReport,
  IdentifyParams,
  ImportReport,
  Item,
  ItemDeleted,
  ModelList,
  PriceOptimizedRecommendations,
  PriceOptimizedRequest,
  RecommendRequest,
  Recommendations,
  SessionRecommendations,
  SessionRequest,
  SimilarItems,
  SimilarItemsParams,
  StoredItem,
  StoredUser,
  TrackEvent,
  TrackResponse,
  TrainResult,
  UploadParams,
  UpsertResult,
  User,
  UserErased,
  UserEventsPage,
  UserEventsParams,
} from './types.js';

/** The reference's hosted services; a self-hosted lehnz serves both on one `baseUrl`. */
/**
 * Where `lehnz serve` (and `make run`) listens by default. lehnz is self-hosted: no default
 * points at a host the developer does not run, so a forgotten `baseUrl` never sends a key
 * off the machine.
 */
export const DEFAULT_BASE_URL = 'http://localhost:8000';
export const DEFAULT_INGESTION_URL = DEFAULT_BASE_URL;
export const DEFAULT_RECOMMENDATIONS_URL = DEFAULT_BASE_URL;
/** The most events `POST /api/v1/events/ingest` takes in one request. */
export const MAX_BATCH = 1000;
/** `models.train()` answers when the new version serves: it gets this long by default. */
const TRAIN_TIMEOUT_MS = 600_000;

export interface LehnzOptions {
  /** `lehnz_pk_...`: events and recommendations; safe in a browser. */
  publishableKey?: string;
  /** `lehnz_sk_...`: catalog, uploads, event history, models; server side only. */
  secretKey?: string;
  /** One server for both sides, e.g. `http://localhost:8000` for `lehnz serve`. */
  baseUrl?: string;
  /** Events and catalog (`/api/v1/...`); default `baseUrl`, else `http://localhost:8000`. */
  ingestionUrl?: string;
  /** Recommendations (`/recommend...`, `/item/...`); default `baseUrl`, else `http://localhost:8000`. */
  recommendationsUrl?: string;
  /** The `X-Domain` header. */
  domain?: 'commerce';
  /** Retries of a 429, a 5xx or a network error (5xx and network errors only where safe). Default 2. */
  maxRetries?: number;
  /** Per attempt. Default 10,000 ms (`models.train()`: 10 minutes). */
  timeoutMs?: number;
  /** A 429 asking to wait longer than this is thrown at once rather than waited for. Default 60,000 ms. */
  maxRetryDelayMs?: number;
  /** A `fetch` to use instead of the global one. */
  fetch?: FetchLike;
}

let warnedSecretInBrowser = false;

/** A random UUID (v4), with or without `crypto.randomUUID`. */
export function randomId(): string {
  const c = (globalThis as { crypto?: Crypto }).crypto;
  if (c && typeof c.randomUUID === 'function') return c.randomUUID();
  const bytes = new Uint8Array(16);
  if (c && typeof c.getRandomValues === 'function') c.getRandomValues(bytes);
  else for (let i = 0; i < 16; i++) bytes[i] = Math.floor(Math.random() * 256);
  bytes[6] = ((bytes[6] ?? 0) & 0x0f) | 0x40;
  bytes[8] = ((bytes[8] ?? 0) & 0x3f) | 0x80;
  const hex = Array.from(bytes, (b) => b.toString(16).padStart(2, '0')).join('');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}

/** Each event with an `event_id`, so that a retried batch is stored once. */
export function withEventIds(events: readonly TrackEvent[]): TrackEvent[] {
  return events.map((event) => (event.event_id ? event : { ...event, event_id: randomId() }));
}

/** A file to upload: a Blob or File, or its content as a string or bytes. */
export type Uploadable = Blob | string | Uint8Array | ArrayBuffer;
export interface UploadOptions extends UploadParams {
  /** The file name, whose extension (`.csv`, `.json`, `.ndjson`, `.gz`) tells the format; else it is detected from the content. */
  filename?: string;
}

function formData(file: Uploadable, filename: string | undefined): FormData {
  const form = new FormData();
  const blob = file instanceof Blob ? file : new Blob([file as BlobPart]);
  const name = filename ?? (typeof File !== 'undefined' && file instanceof File ? file.name : 'upload');
  form.append('file', blob, name);
  return form;
}

export class Lehnz {
  private readonly transport: Transport;

  constructor(options: LehnzOptions = {}) {
    const fetchImpl = options.fetch ?? (typeof fetch === 'function' ? fetch.bind(globalThis) : undefined);
    if (!fetchImpl) {
      throw new LehnzError('No global fetch (Node 18+, browsers, edge runtimes): pass `fetch` to new Lehnz()');
    }
    if (options.secretKey && typeof window !== 'undefined' && !warnedSecretInBrowser) {
      warnedSecretInBrowser = true;
      console.warn(
        'lehnz: a secret key is in use in a browser. Anyone can read it from the page: use a publishable key (lehnz_pk_...) in browsers.',
      );
    }
    this.transport = new Transport({
      publishableKey: options.publishableKey,
      secretKey: options.secretKey,
      ingestionUrl: rootUrl(options.ingestionUrl ?? options.baseUrl ?? DEFAULT_INGESTION_URL),
      recommendationsUrl: rootUrl(options.recommendationsUrl ?? options.baseUrl ?? DEFAULT_RECOMMENDATIONS_URL),
      domain: options.domain ?? 'commerce',
      maxRetries: options.maxRetries ?? 2,
      timeoutMs: options.timeoutMs ?? 10_000,
      maxRetryDelayMs: options.maxRetryDelayMs ?? 60_000,
      fetch: fetchImpl,
    });
  }

  private data<T>(spec: RequestSpec): Promise<T> {
    return this.transport.request<{ data: T }>(spec).then((body) => body.data);
  }

  private list<T>(spec: RequestSpec): Promise<T> {
    return this.transport.request<T & { success?: boolean }>(spec).then((body) => {
      const { success: _success, ...rest } = body;
      return rest as T;
    });
  }

  // ---- events (publishable key) ----

  /**
   * Tracks one event or many (sent in batches of at most 1,000). Each event without an
   * `event_id` gets one, so that a retried batch is stored once.
   */
  async track(events: TrackEvent | readonly TrackEvent[], options?: RequestOptions & { keepalive?: boolean }): Promise<TrackResponse> {
    const all = withEventIds(Array.isArray(events) ? (events as readonly TrackEvent[]) : [events as TrackEvent]);
    if (all.length === 0) throw new LehnzError('track() needs at least one event', { code: 'validation_error' });
    this.transport.key('publishable');
    let accepted = 0;
    for (let start = 0; start < all.length; start += MAX_BATCH) {
      const result = await this.data<TrackResponse>({
        method: 'POST',
        side: 'ingestion',
        path: '/api/v1/events/ingest',
        key: 'publishable',
        json: all.slice(start, start + MAX_BATCH),
        idempotent: true,
        keepalive: options?.keepalive ?? false,
        options,
      });
      accepted += result.accepted;
    }
    return { accepted };
  }

  /** Sends an `identify` event: the anonymous `previous_user_id` is now `user_id`. */
  identify(params: IdentifyParams, options?: RequestOptions): Promise<TrackResponse> {
    return this.track({ ...params, event_name: 'identify' }, options);
  }

  /** Buffers `track` calls and sends them in batches (for browsers); see `EventQueue`. */
  queue(options?: QueueOptions): EventQueue {
    return new EventQueue(this, options);
  }

  // ---- recommendations (publishable key) ----

  /** `POST /recommend`: a personalised list for a user. */
  recommend(request: RecommendRequest, options?: RequestOptions): Promise<Recommendations> {
    return this.list({ method: 'POST', side: 'recommendations', path: '/recommend', key: 'publishable', json: request, idempotent: true, options });
  }

  /** `GET /item/{item_id}`: items similar to an item. */
  async similarItems(itemId: string, params: SimilarItemsParams = {}, options?: RequestOptions): Promise<SimilarItems> {
    return this.list({
      method: 'GET',
      side: 'recommendations',
      path: `/item/${encodeId(itemId, 'itemId')}`,
      key: 'publishable',
      query: params,
      idempotent: true,
      options,
    });
  }

  /** `POST /recommend/session`: items near a recently clicked item. */
  sessionRecommendations(request: SessionRequest, options?: RequestOptions): Promise<SessionRecommendations> {
    return this.list({ method: 'POST', side: 'recommendations', path: '/recommend/session', key: 'publishable', json: request, idempotent: true, options });
  }

  /** `POST /recommend/basket`: items bought with the cart's items. */
  basket(request: BasketRequest, options?: RequestOptions): Promise<BasketRecommendations> {
    return this.list({ method: 'POST', side: 'recommendations', path: '/recommend/basket', key: 'publishable', json: request, idempotent: true, options });
  }

  /** `POST /recommend/price_optimized`: `recommend`, re-ranked by the user's price bucket. */
  priceOptimized(request: PriceOptimizedRequest, options?: RequestOptions): Promise<PriceOptimizedRecommendations> {
    return this.list({
      method: 'POST',
      side: 'recommendations',
      path: '/recommend/price_optimized',
      key: 'publishable',
      json: request,
      idempotent: true,
      options,
    });
  }

  // ---- catalog (secret key) ----

  readonly items = {
    /** `POST /api/v1/items`: creates or updates one item or up to 10,000. */
    upsert: async (items: Item | readonly Item[], options?: RequestOptions): Promise<UpsertResult> =>
      this.data({ method: 'POST', side: 'ingestion', path: '/api/v1/items', key: 'secret', json: items, idempotent: true, options }),
    /** `GET /api/v1/items/{item_id}`. */
    get: async (itemId: string, options?: RequestOptions): Promise<StoredItem> =>
      this.data({ method: 'GET', side: 'ingestion', path: `/api/v1/items/${encodeId(itemId, 'itemId')}`, key: 'secret', idempotent: true, options }),
    /** `DELETE /api/v1/items/{item_id}`: sets the item's status to `deleted`. */
    delete: async (itemId: string, options?: RequestOptions): Promise<ItemDeleted> =>
      this.data({ method: 'DELETE', side: 'ingestion', path: `/api/v1/items/${encodeId(itemId, 'itemId')}`, key: 'secret', idempotent: true, options }),
  };

  readonly users = {
    /** `POST /api/v1/users`: creates or updates one user or up to 10,000. */
    upsert: async (users: User | readonly User[], options?: RequestOptions): Promise<UpsertResult> =>
      this.data({ method: 'POST', side: 'ingestion', path: '/api/v1/users', key: 'secret', json: users, idempotent: true, options }),
    /** `GET /api/v1/users/{user_id}`. */
    get: async (userId: string, options?: RequestOptions): Promise<StoredUser> =>
      this.data({ method: 'GET', side: 'ingestion', path: `/api/v1/users/${encodeId(userId, 'userId')}`, key: 'secret', idempotent: true, options }),
    /** `DELETE /api/v1/users/{user_id}`: erases the user (profile, events, identity links, logs). */
    delete: async (userId: string, options?: RequestOptions): Promise<UserErased> =>
      this.data({ method: 'DELETE', side: 'ingestion', path: `/api/v1/users/${encodeId(userId, 'userId')}`, key: 'secret', idempotent: true, options }),
    /** `GET /api/v1/users/{user_id}/events`: the user's stored events, newest first; pass `next` as `before` for the next page. */
    events: async (userId: string, params: UserEventsParams = {}, options?: RequestOptions): Promise<UserEventsPage> =>
      this.data({
        method: 'GET',
        side: 'ingestion',
        path: `/api/v1/users/${encodeId(userId, 'userId')}/events`,
        key: 'secret',
        query: params,
        idempotent: true,
        options,
      }),
  };

  // ---- uploads (secret key) ----

  private upload<T>(kind: 'items' | 'users' | 'events', file: Uploadable, params: UploadOptions, options?: RequestOptions): Promise<T> {
    const { filename, ...query } = params;
    return this.data({
      method: 'POST',
      side: 'ingestion',
      path: `/api/v1/upload/${kind}`,
      key: 'secret',
      query,
      form: () => formData(file, filename),
      // Items and users are upserts; events without an event_id would be stored again.
      idempotent: kind !== 'events',
      options,
    });
  }

  readonly uploads = {
    /** `POST /api/v1/upload/items`: a CSV, JSON array or NDJSON file (gzip allowed). */
    items: async (file: Uploadable, params: UploadOptions = {}, options?: RequestOptions): Promise<ImportReport> =>
      this.upload('items', file, params, options),
    /** `POST /api/v1/upload/users`. */
    users: async (file: Uploadable, params: UploadOptions = {}, options?: RequestOptions): Promise<ImportReport> =>
      this.upload('users', file, params, options),
    /** `POST /api/v1/upload/events`. Not retried on 5xx or network errors (events without `event_id` would be stored twice). */
    events: async (file: Uploadable, params: UploadOptions = {}, options?: RequestOptions): Promise<EventImportReport> =>
      this.upload('events', file, params, options),
  };

  // ---- models (secret key) ----

  readonly models = {
    /** `POST /api/v1/models/train`: trains now and answers when the new version serves (timeout: 10 minutes unless given). */
    train: async (options?: RequestOptions): Promise<TrainResult> =>
      this.data({
        method: 'POST',
        side: 'ingestion',
        path: '/api/v1/models/train',
        key: 'secret',
        idempotent: false,
        options: { timeoutMs: TRAIN_TIMEOUT_MS, ...options },
      }),
    /** `GET /api/v1/models`: versions, when trained, on what, offline metrics. */
    list: async (options?: RequestOptions): Promise<ModelList> =>
      this.data({ method: 'GET', side: 'ingestion', path: '/api/v1/models', key: 'secret', idempotent: true, options }),
  };
}
