export { Lehnz, DEFAULT_BASE_URL, DEFAULT_INGESTION_URL, DEFAULT_RECOMMENDATIONS_URL, MAX_BATCH } from './client.js';
export type { LehnzOptions, UploadOptions, Uploadable } from './client.js';
export { EventQueue } from './queue.js';
export type { QueueOptions } from './queue.js';
export type { FetchLike, RequestOptions } from './core.js';
export {
  LehnzError,
  BadRequestError,
  AuthenticationError,
  PermissionDeniedError,
  NotFoundError,
  ConflictError,
  PayloadTooLargeError,
  RateLimitError,
  InternalServerError,
  APIConnectionError,
  APITimeoutError,
} from './errors.js';
export type * from './types.js';
export type { components, operations, paths } from './generated/schema.js';
