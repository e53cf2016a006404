/**
 * Errors. Every error the client throws is a `LehnzError`; an answer with an error status
 * becomes the subclass for its status, carrying the envelope's `code`, `message` and
 * `error` (as `detail`) and the answer's headers.
 */

export interface LehnzErrorInit {
  status?: number | undefined;
  code?: string | undefined;
  detail?: string | undefined;
  headers?: Headers | undefined;
  cause?: unknown;
}

export class LehnzError extends Error {
  /** HTTP status; `undefined` when no answer came (connection errors, timeouts). */
  readonly status: number | undefined;
  /** The envelope's stable `code` (`validation_error`, `invalid_api_key`, ...): match on it. */
  readonly code: string | undefined;
  /** The envelope's `error` field. */
  readonly detail: string | undefined;
  /** The answer's headers (`RateLimit-*`, `Retry-After`, ...). */
  readonly headers: Headers | undefined;

  constructor(message: string, init: LehnzErrorInit = {}) {
    super(message, init.cause === undefined ? undefined : { cause: init.cause });
    this.name = new.target.name;
    this.status = init.status;
    this.code = init.code;
    this.detail = init.detail;
    this.headers = init.headers;
  }
}

/** 400: a field missing or invalid, malformed JSON, a wrong `X-Domain`. */
export class BadRequestError extends LehnzError {}
/** 401: `X-API-KEY` missing, malformed, unknown, revoked or rotated out. */
export class AuthenticationError extends LehnzError {}
/** 403: a secret key on a publishable path, or the reverse. */
export class PermissionDeniedError extends LehnzError {}
/** 404: unknown item, user or path. */
export class NotFoundError extends LehnzError {}
/** 409: e.g. an e-mail already registered. */
export class ConflictError extends LehnzError {}
/** 413: the body is over the path's limit (events: 5 MB). */
export class PayloadTooLargeError extends LehnzError {}
/** 5xx. */
export class InternalServerError extends LehnzError {}

/** 429: the organisation's request window is spent. */
export class RateLimitError extends LehnzError {
  /** Seconds to wait before the window reopens (`Retry-After`), when the server said. */
  readonly retryAfter: number | undefined;

  constructor(message: string, init: LehnzErrorInit = {}) {
    super(message, init);
    this.retryAfter = init.headers ? retryAfterSeconds(init.headers) : undefined;
  }
}

/** No answer: the server could not be reached, or the connection broke. */
export class APIConnectionError extends LehnzError {}
/** No answer within `timeoutMs`. */
export class APITimeoutError extends APIConnectionError {}

/** `Retry-After` (seconds or an HTTP date), else `RateLimit-Reset`, in seconds. */
export function retryAfterSeconds(headers: Headers): number | undefined {
  const retryAfter = headers.get('retry-after');
  if (retryAfter !== null && retryAfter.trim() !== '') {
    const seconds = Number(retryAfter);
    if (Number.isFinite(seconds) && seconds >= 0) return seconds;
    const date = Date.parse(retryAfter);
    if (!Number.isNaN(date)) return Math.max(0, (date - Date.now()) / 1000);
  }
  const reset = headers.get('ratelimit-reset');
  if (reset !== null && reset.trim() !== '') {
    const seconds = Number(reset);
    if (Number.isFinite(seconds) && seconds >= 0) return seconds;
  }
  return undefined;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** The error for an answer with an error status; `body` is its parsed JSON, if any. */
export function errorFromResponse(status: number, body: unknown, headers: Headers, text: string): LehnzError {
  const envelope = isRecord(body) ? body : {};
  const str = (value: unknown): string | undefined => (typeof value === 'string' ? value : undefined);
  const detail = str(envelope['error']);
  const message = str(envelope['message']) ?? detail ?? (text.slice(0, 500) || `HTTP ${status}`);
  const init: LehnzErrorInit = { status, code: str(envelope['code']), detail, headers };
  switch (status) {
    case 400:
      return new BadRequestError(message, init);
    case 401:
      return new AuthenticationError(message, init);
    case 403:
      return new PermissionDeniedError(message, init);
    case 404:
      return new NotFoundError(message, init);
    case 409:
      return new ConflictError(message, init);
    case 413:
      return new PayloadTooLargeError(message, init);
    case 429:
      return new RateLimitError(message, init);
    default:
      return status >= 500 ? new InternalServerError(message, init) : new LehnzError(message, init);
  }
}
