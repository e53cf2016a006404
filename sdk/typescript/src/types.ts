/**
 * Request and response types, derived from the generated OpenAPI types
 * (`src/generated/schema.ts`, generated from `openapi.json`), so they cannot drift from the
 * API. Field names are the API's own (snake_case).
 */
import type { components, operations } from './generated/schema.js';

type Schemas = components['schemas'];
type Operation = keyof operations;

type JsonContent<T> = T extends { content: { 'application/json': infer B } } ? B : never;
type Responses<Op extends Operation> = operations[Op]['responses'];
type SuccessStatus = 200 | 201 | 202 | '200' | '201' | '202';

/** The JSON body of an operation's successful answer, as the server sends it. */
export type SuccessBody<Op extends Operation> = JsonContent<
  Responses<Op>[Extract<keyof Responses<Op>, SuccessStatus>]
>;
/** The `data` of an enveloped answer. */
export type ResponseData<Op extends Operation> = SuccessBody<Op> extends { data: infer D } ? D : never;
/** A recommendation answer: the fields are at the top level, `success` is left out. */
export type RecommendationResponse<Op extends Operation> = Omit<SuccessBody<Op>, 'success'>;
/** An operation's JSON request body. */
export type RequestBody<Op extends Operation> = operations[Op] extends { requestBody?: infer R }
  ? JsonContent<NonNullable<R>>
  : never;
type Query<Op extends Operation> = NonNullable<operations[Op]['parameters']['query']>;

type One<T> = T extends readonly unknown[] ? never : T;

/** One event for `POST /api/v1/events/ingest`. */
export type TrackEvent = One<RequestBody<'trackEvents'>>;
/** `identify`: the anonymous `previous_user_id` becomes `user_id`. */
export type IdentifyParams = Omit<TrackEvent, 'event_name' | 'previous_user_id' | 'item_id'> & {
  previous_user_id: string;
};
export type TrackResponse = ResponseData<'trackEvents'>;

export type Item = One<RequestBody<'upsertItems'>>;
export type User = One<RequestBody<'upsertUsers'>>;
export type UpsertResult = ResponseData<'upsertItems'>;
export type StoredItem = ResponseData<'getItem'>;
export type StoredUser = ResponseData<'getUser'>;
export type ItemDeleted = ResponseData<'deleteItem'>;
export type UserErased = ResponseData<'deleteUser'>;
export type UserEventsPage = ResponseData<'listUserEvents'>;
export type UserEventsParams = Query<'listUserEvents'>;
export type StoredEvent = Schemas['StoredEventOut'];

export type RecommendRequest = Schemas['RecommendRequest'];
export type SessionRequest = Schemas['SessionRequest'];
export type BasketRequest = Schemas['BasketRequest'];
export type PriceOptimizedRequest = Schemas['PriceOptimizedRequest'];
export type SimilarItemsParams = Query<'similarItems'>;

export type Recommendations = RecommendationResponse<'recommend'>;
export type SimilarItems = RecommendationResponse<'similarItems'>;
export type SessionRecommendations = RecommendationResponse<'sessionRecommendations'>;
export type BasketRecommendations = RecommendationResponse<'basketRecommendations'>;
export type PriceOptimizedRecommendations = RecommendationResponse<'priceOptimizedRecommendations'>;
export type Recommendation = Schemas['DocumentedRecommendation'];
export type RecommendationMeta = Schemas['Meta'];

export type ImportReport = ResponseData<'uploadItems'>;
export type EventImportReport = ResponseData<'uploadEvents'>;
export type UploadParams = Query<'uploadItems'>;

export type Model = Schemas['ModelOut'];
export type TrainResult = ResponseData<'trainModel'>;
export type ModelList = ResponseData<'listModels'>;

export type ErrorEnvelope = Schemas['ErrorEnvelope'];
