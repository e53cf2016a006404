/** The transport: URLs, keys, JSON, timeouts, retries with back-off. */
import {
  APIConnectionError,
  APITimeoutError,
  LehnzError,
  errorFromResponse,
  retryAfterSeconds,
} from './errors.js';

export type FetchLike = (input: string, init?: RequestInit) => Promise<Response>;

/** Per-call options, the last argument of every method. */
export interface RequestOptions {
  /** Cancels the call (and its retries). */
  signal?: AbortSignal;
  /** Overrides the client's `timeoutMs` for this call (each attempt). */
  timeoutMs?: number;
  /** Overrides the client's `maxRetries` for this call. */
  maxRetries?: number;
}

export type Side = 'ingestion' | 'recommendations';
export type KeyType = 'publishable' | 'secret';
type QueryValue = string | number | boolean | null | undefined;

export interface RequestSpec {
  method: 'GET' | 'POST' | 'PUT' | 'DELETE';
  side: Side;
  /** From the root, ids already encoded: `/api/v1/items/shoes%2F42`. */
  path: string;
  key: KeyType;
  query?: Record<string, QueryValue> | undefined;
  /** A JSON body. */
  json?: unknown;
  /** A multipart body, built again for each attempt. */
  form?: () => FormData;
  /** Whether a 5xx answer or a broken connection may be retried (a 429 always may). */
  idempotent: boolean;
  keepalive?: boolean;
  options?: RequestOptions | undefined;
}

export interface TransportConfig {
  publishableKey: string | undefined;
  secretKey: string | undefined;
  ingestionUrl: string;
  recommendationsUrl: string;
  domain: string;
  maxRetries: number;
  timeoutMs: number;
  maxRetryDelayMs: number;
  fetch: FetchLike;
}

const INITIAL_DELAY_MS = 500;
const MAX_BACKOFF_MS = 8_000;

/** `https://ingestion.example.com/api/v1` and `https://ingestion.example.com` both name the root. */
export function rootUrl(url: string): string {
  return url.replace(/\/+$/, '').replace(/\/api\/v1$/, '');
}

/**
 * An id as one path segment: percent-encoded, `/` included; an id made only of dots as
 * `%2E`s. `.` and `..` cannot be sent at all: `fetch` (the WHATWG URL parser) removes
 * them, `%2E` forms included, from any path.
 */
export function encodeId(id: string, what: string): string {
  if (typeof id !== 'string' || id === '') {
    throw new LehnzError(`${what} must be a non-empty string`, { code: 'invalid_id' });
  }
  if (id === '.' || id === '..') {
    throw new LehnzError(
      `${what} ${JSON.stringify(id)} cannot be sent in a URL: fetch removes dot segments ("." and "..", encoded or not) from paths`,
      { code: 'invalid_id' },
    );
  }
  const encoded = encodeURIComponent(id);
  return /^\.+$/.test(id) ? encoded.replace(/\./g, '%2E') : encoded;
}

function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(signal.reason);
    const onAbort = (): void => {
      clearTimeout(timer);
      reject(signal?.reason);
    };
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}

/** Exponential back-off with jitter: about 0.5 s, 1 s, 2 s ... up to 8 s, less up to 25 %. */
export function backoffMs(retry: number): number {
  return Math.min(MAX_BACKOFF_MS, INITIAL_DELAY_MS * 2 ** retry) * (1 - Math.random() * 0.25);
}

export class Transport {
  constructor(readonly config: TransportConfig) {}

  key(type: KeyType): string {
    const key = type === 'publishable' ? this.config.publishableKey : this.config.secretKey;
    if (!key) {
      const option = type === 'publishable' ? 'publishableKey' : 'secretKey';
      throw new LehnzError(`This call needs a ${type} key: pass \`${option}\` to new Lehnz()`, {
        code: 'missing_api_key',
      });
    }
    return key;
  }

  url(spec: RequestSpec): string {
    const root = spec.side === 'ingestion' ? this.config.ingestionUrl : this.config.recommendationsUrl;
    let url = root + spec.path;
    if (spec.query) {
      const params = new URLSearchParams();
      for (const [name, value] of Object.entries(spec.query)) {
        if (value !== undefined && value !== null) params.append(name, String(value));
      }
      const search = params.toString();
      if (search) url += `?${search}`;
    }
    return url;
  }

  /** Sends `spec`, retrying as allowed; resolves to the parsed JSON of a 2xx answer. */
  async request<T>(spec: RequestSpec): Promise<T> {
    const headers: Record<string, string> = {
      Accept: 'application/json',
      'X-API-KEY': this.key(spec.key),
      'X-Domain': this.config.domain,
    };
    let body: string | undefined;
    if (spec.json !== undefined) {
      headers['Content-Type'] = 'application/json';
      body = JSON.stringify(spec.json);
    }
    const url = this.url(spec);
    const maxRetries = spec.options?.maxRetries ?? this.config.maxRetries;
    const timeoutMs = spec.options?.timeoutMs ?? this.config.timeoutMs;
    const signal = spec.options?.signal;

    for (let retry = 0; ; retry++) {
      let error: LehnzError;
      let delayMs: number;
      try {
        return (await this.attempt(url, spec, headers, body ?? spec.form?.(), timeoutMs, signal)) as T;
      } catch (caught) {
        if (!(caught instanceof LehnzError)) throw caught; // the caller's abort, a bug
        error = caught;
        const status = error.status;
        if (status === 429 || (status === 503 && error.headers?.has('retry-after'))) {
          const seconds = error.headers ? retryAfterSeconds(error.headers) : undefined;
          delayMs = seconds === undefined ? backoffMs(retry) : seconds * 1000 + Math.random() * 250;
          if (delayMs > this.config.maxRetryDelayMs) throw error;
        } else if (spec.idempotent && (status === undefined ? error instanceof APIConnectionError : status >= 500)) {
          delayMs = backoffMs(retry);
        } else {
          throw error;
        }
      }
      if (retry >= maxRetries) throw error;
      await sleep(delayMs, signal);
    }
  }

  private async attempt(
    url: string,
    spec: RequestSpec,
    headers: Record<string, string>,
    body: BodyInit | undefined,
    timeoutMs: number,
    signal: AbortSignal | undefined,
  ): Promise<unknown> {
    const controller = new AbortController();
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      controller.abort();
    }, timeoutMs);
    const onAbort = (): void => controller.abort(signal?.reason);
    if (signal?.aborted) onAbort();
    else signal?.addEventListener('abort', onAbort, { once: true });
    try {
      const init: RequestInit = { method: spec.method, headers, signal: controller.signal };
      if (body !== undefined) init.body = body;
      if (spec.keepalive) init.keepalive = true;
      let response: Response;
      let text: string;
      try {
        response = await this.config.fetch(url, init);
        text = await response.text();
      } catch (cause) {
        if (signal?.aborted) throw signal.reason;
        if (timedOut) {
          throw new APITimeoutError(`${spec.method} ${spec.path}: no answer within ${timeoutMs} ms`, { cause });
        }
        throw new APIConnectionError(`${spec.method} ${spec.path}: ${describe(cause)}`, { cause });
      }
      let parsed: unknown;
      try {
        parsed = text === '' ? undefined : JSON.parse(text);
      } catch {
        parsed = undefined;
      }
      if (!response.ok) throw errorFromResponse(response.status, parsed, response.headers, text);
      if (parsed === undefined) {
        throw new LehnzError(`${spec.method} ${spec.path}: the answer is not JSON`, {
          status: response.status,
          headers: response.headers,
        });
      }
      return parsed;
    } finally {
      clearTimeout(timer);
      signal?.removeEventListener('abort', onAbort);
    }
  }
}

function describe(cause: unknown): string {
  if (cause instanceof Error) {
    const inner = (cause as { cause?: unknown }).cause;
    const code = inner && typeof inner === 'object' && 'code' in inner ? String(inner.code) : undefined;
    return code ? `${cause.message} (${code})` : cause.message;
  }
  return String(cause);
}
