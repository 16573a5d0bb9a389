// GENERATED FILE - DO NOT EDIT.
// Produced by scripts/generate-codec.mjs from spec/amqp-rabbitmq-0.9.1.json,
// spec/amqp0-9-1.extended.xml and spec/credit_extension.json. Run `npm run generate` after changing the spec or the generator;
// test/codec/generated-drift.test.ts fails when this file and the spec disagree.


export const PROTOCOL_VERSION = { major: 0, minor: 9, revision: 1 } as const;
export const DEFAULT_PORT = 5672;
/** The protocol header a 0-9-1 peer sends first: "AMQP" 0 0 9 1. */
export const PROTOCOL_HEADER = Buffer.from([0x41, 0x4d, 0x51, 0x50, 0, 0, 9, 1]);

export const FRAME_METHOD = 1;
export const FRAME_HEADER = 2;
export const FRAME_BODY = 3;
export const FRAME_HEARTBEAT = 8;
export const FRAME_MIN_SIZE = 4096;
export const FRAME_END = 206;

/** Reply codes with their names and, for errors, whether they close the channel or the connection. */
export const ReplyCode = {
  REPLY_SUCCESS: 200,
  CONTENT_TOO_LARGE: 311,
  NO_ROUTE: 312,
  NO_CONSUMERS: 313,
  ACCESS_REFUSED: 403,
  NOT_FOUND: 404,
  RESOURCE_LOCKED: 405,
  PRECONDITION_FAILED: 406,
  CONNECTION_FORCED: 320,
  INVALID_PATH: 402,
  FRAME_ERROR: 501,
  SYNTAX_ERROR: 502,
  COMMAND_INVALID: 503,
  CHANNEL_ERROR: 504,
  UNEXPECTED_FRAME: 505,
  RESOURCE_ERROR: 506,
  NOT_ALLOWED: 530,
  NOT_IMPLEMENTED: 540,
  INTERNAL_ERROR: 541,
} as const;
export type ReplyCodeName = keyof typeof ReplyCode;
export type ReplyCodeValue = (typeof ReplyCode)[ReplyCodeName];

export type ErrorClass = 'soft' | 'hard';
export const REPLY_CODE_INFO: ReadonlyMap<number, { readonly name: ReplyCodeName; readonly errorClass: ErrorClass | undefined }> = new Map([
  [200, { name: 'REPLY_SUCCESS', errorClass: undefined }],
  [311, { name: 'CONTENT_TOO_LARGE', errorClass: 'soft' }],
  [312, { name: 'NO_ROUTE', errorClass: 'soft' }],
  [313, { name: 'NO_CONSUMERS', errorClass: 'soft' }],
  [403, { name: 'ACCESS_REFUSED', errorClass: 'soft' }],
  [404, { name: 'NOT_FOUND', errorClass: 'soft' }],
  [405, { name: 'RESOURCE_LOCKED', errorClass: 'soft' }],
  [406, { name: 'PRECONDITION_FAILED', errorClass: 'soft' }],
  [320, { name: 'CONNECTION_FORCED', errorClass: 'hard' }],
  [402, { name: 'INVALID_PATH', errorClass: 'hard' }],
  [501, { name: 'FRAME_ERROR', errorClass: 'hard' }],
  [502, { name: 'SYNTAX_ERROR', errorClass: 'hard' }],
  [503, { name: 'COMMAND_INVALID', errorClass: 'hard' }],
  [504, { name: 'CHANNEL_ERROR', errorClass: 'hard' }],
  [505, { name: 'UNEXPECTED_FRAME', errorClass: 'hard' }],
  [506, { name: 'RESOURCE_ERROR', errorClass: 'hard' }],
  [530, { name: 'NOT_ALLOWED', errorClass: 'hard' }],
  [540, { name: 'NOT_IMPLEMENTED', errorClass: 'hard' }],
  [541, { name: 'INTERNAL_ERROR', errorClass: 'hard' }],
]);

export const ClassId = {
  Connection: 10,
  Channel: 20,
  Access: 30,
  Exchange: 40,
  Queue: 50,
  Basic: 60,
  Tx: 90,
  Confirm: 85,
} as const;
