// GENERATED FILE - DO NOT EDIT.
// Produced by scripts/generate-codec.mjs from spec/amqp-rabbitmq-0.9.1.json,
// spec/amqp0-9-1.extended.xml and spec/credit_extension.json. Run `npm run generate` after changing the spec or the generator;
// test/codec/generated-drift.test.ts fails when this file and the spec disagree.

import type { FieldTable } from '../field-table.js';
import type { Reader, Writer } from '../codec-primitives.js';

/** Method keys: (class id << 16) | method id, the value a decoded method carries in `id`. */
export const Method = {
  ConnectionStart: 0x000a000a, // connection.start
  ConnectionStartOk: 0x000a000b, // connection.start-ok
  ConnectionSecure: 0x000a0014, // connection.secure
  ConnectionSecureOk: 0x000a0015, // connection.secure-ok
  ConnectionTune: 0x000a001e, // connection.tune
  ConnectionTuneOk: 0x000a001f, // connection.tune-ok
  ConnectionOpen: 0x000a0028, // connection.open
  ConnectionOpenOk: 0x000a0029, // connection.open-ok
  ConnectionClose: 0x000a0032, // connection.close
  ConnectionCloseOk: 0x000a0033, // connection.close-ok
  ConnectionBlocked: 0x000a003c, // connection.blocked
  ConnectionUnblocked: 0x000a003d, // connection.unblocked
  ConnectionUpdateSecret: 0x000a0046, // connection.update-secret
  ConnectionUpdateSecretOk: 0x000a0047, // connection.update-secret-ok
  ChannelOpen: 0x0014000a, // channel.open
  ChannelOpenOk: 0x0014000b, // channel.open-ok
  ChannelFlow: 0x00140014, // channel.flow
  ChannelFlowOk: 0x00140015, // channel.flow-ok
  ChannelClose: 0x00140028, // channel.close
  ChannelCloseOk: 0x00140029, // channel.close-ok
  AccessRequest: 0x001e000a, // access.request
  AccessRequestOk: 0x001e000b, // access.request-ok
  ExchangeDeclare: 0x0028000a, // exchange.declare
  ExchangeDeclareOk: 0x0028000b, // exchange.declare-ok
  ExchangeDelete: 0x00280014, // exchange.delete
  ExchangeDeleteOk: 0x00280015, // exchange.delete-ok
  ExchangeBind: 0x0028001e, // exchange.bind
  ExchangeBindOk: 0x0028001f, // exchange.bind-ok
  ExchangeUnbind: 0x00280028, // exchange.unbind
  ExchangeUnbindOk: 0x00280033, // exchange.unbind-ok
  QueueDeclare: 0x0032000a, // queue.declare
  QueueDeclareOk: 0x0032000b, // queue.declare-ok
  QueueBind: 0x00320014, // queue.bind
  QueueBindOk: 0x00320015, // queue.bind-ok
  QueuePurge: 0x0032001e, // queue.purge
  QueuePurgeOk: 0x0032001f, // queue.purge-ok
  QueueDelete: 0x00320028, // queue.delete
  QueueDeleteOk: 0x00320029, // queue.delete-ok
  QueueUnbind: 0x00320032, // queue.unbind
  QueueUnbindOk: 0x00320033, // queue.unbind-ok
  BasicQos: 0x003c000a, // basic.qos
  BasicQosOk: 0x003c000b, // basic.qos-ok
  BasicConsume: 0x003c0014, // basic.consume
  BasicConsumeOk: 0x003c0015, // basic.consume-ok
  BasicCancel: 0x003c001e, // basic.cancel
  BasicCancelOk: 0x003c001f, // basic.cancel-ok
  BasicPublish: 0x003c0028, // basic.publish
  BasicReturn: 0x003c0032, // basic.return
  BasicDeliver: 0x003c003c, // basic.deliver
  BasicGet: 0x003c0046, // basic.get
  BasicGetOk: 0x003c0047, // basic.get-ok
  BasicGetEmpty: 0x003c0048, // basic.get-empty
  BasicAck: 0x003c0050, // basic.ack
  BasicReject: 0x003c005a, // basic.reject
  BasicRecoverAsync: 0x003c0064, // basic.recover-async
  BasicRecover: 0x003c006e, // basic.recover
  BasicRecoverOk: 0x003c006f, // basic.recover-ok
  BasicNack: 0x003c0078, // basic.nack
  BasicCredit: 0x003c00c8, // basic.credit
  BasicCreditOk: 0x003c00c9, // basic.credit-ok
  BasicCreditDrained: 0x003c00ca, // basic.credit-drained
  TxSelect: 0x005a000a, // tx.select
  TxSelectOk: 0x005a000b, // tx.select-ok
  TxCommit: 0x005a0014, // tx.commit
  TxCommitOk: 0x005a0015, // tx.commit-ok
  TxRollback: 0x005a001e, // tx.rollback
  TxRollbackOk: 0x005a001f, // tx.rollback-ok
  ConfirmSelect: 0x0055000a, // confirm.select
  ConfirmSelectOk: 0x0055000b, // confirm.select-ok
} as const;

/** connection.start (10, 10): start connection negotiation. */
export interface ConnectionStart {
  readonly id: 0x000a000a;
  versionMajor: number;
  versionMinor: number;
  serverProperties: FieldTable;
  mechanisms: Buffer;
  locales: Buffer;
}
/** Arguments for encoding connection.start; those with a default in the spec may be left out. */
export interface ConnectionStartArgs {
  versionMajor?: number;
  versionMinor?: number;
  serverProperties: FieldTable;
  mechanisms?: string | Buffer;
  locales?: string | Buffer;
}

/** connection.start-ok (10, 11): select security mechanism and locale. */
export interface ConnectionStartOk {
  readonly id: 0x000a000b;
  clientProperties: FieldTable;
  mechanism: string;
  response: Buffer;
  locale: string;
}
/** Arguments for encoding connection.start-ok; those with a default in the spec may be left out. */
export interface ConnectionStartOkArgs {
  clientProperties: FieldTable;
  mechanism?: string | Buffer;
  response: string | Buffer;
  locale?: string | Buffer;
}

/** connection.secure (10, 20): security mechanism challenge. */
export interface ConnectionSecure {
  readonly id: 0x000a0014;
  challenge: Buffer;
}
/** Arguments for encoding connection.secure; those with a default in the spec may be left out. */
export interface ConnectionSecureArgs {
  challenge: string | Buffer;
}

/** connection.secure-ok (10, 21): security mechanism response. */
export interface ConnectionSecureOk {
  readonly id: 0x000a0015;
  response: Buffer;
}
/** Arguments for encoding connection.secure-ok; those with a default in the spec may be left out. */
export interface ConnectionSecureOkArgs {
  response: string | Buffer;
}

/** connection.tune (10, 30): propose connection tuning parameters. */
export interface ConnectionTune {
  readonly id: 0x000a001e;
  channelMax: number;
  frameMax: number;
  heartbeat: number;
}
/** Arguments for encoding connection.tune; those with a default in the spec may be left out. */
export interface ConnectionTuneArgs {
  channelMax?: number;
  frameMax?: number;
  heartbeat?: number;
}

/** connection.tune-ok (10, 31): negotiate connection tuning parameters. */
export interface ConnectionTuneOk {
  readonly id: 0x000a001f;
  channelMax: number;
  frameMax: number;
  heartbeat: number;
}
/** Arguments for encoding connection.tune-ok; those with a default in the spec may be left out. */
export interface ConnectionTuneOkArgs {
  channelMax?: number;
  frameMax?: number;
  heartbeat?: number;
}

/** connection.open (10, 40): open connection to virtual host. */
export interface ConnectionOpen {
  readonly id: 0x000a0028;
  virtualHost: string;
  capabilities: string;
  insist: boolean;
}
/** Arguments for encoding connection.open; those with a default in the spec may be left out. */
export interface ConnectionOpenArgs {
  virtualHost?: string | Buffer;
  capabilities?: string | Buffer;
  insist?: boolean;
}

/** connection.open-ok (10, 41): signal that connection is ready. */
export interface ConnectionOpenOk {
  readonly id: 0x000a0029;
  knownHosts: string;
}
/** Arguments for encoding connection.open-ok; those with a default in the spec may be left out. */
export interface ConnectionOpenOkArgs {
  knownHosts?: string | Buffer;
}

/** connection.close (10, 50): request a connection close. */
export interface ConnectionClose {
  readonly id: 0x000a0032;
  replyCode: number;
  replyText: string;
  classId: number;
  methodId: number;
}
/** Arguments for encoding connection.close; those with a default in the spec may be left out. */
export interface ConnectionCloseArgs {
  replyCode: number;
  replyText?: string | Buffer;
  classId: number;
  methodId: number;
}

/** connection.close-ok (10, 51): confirm a connection close. */
export interface ConnectionCloseOk {
  readonly id: 0x000a0033;
}
/** Arguments for encoding connection.close-ok; those with a default in the spec may be left out. */
export interface ConnectionCloseOkArgs {
}

/** connection.blocked (10, 60): indicate that connection is blocked. */
export interface ConnectionBlocked {
  readonly id: 0x000a003c;
  reason: string;
}
/** Arguments for encoding connection.blocked; those with a default in the spec may be left out. */
export interface ConnectionBlockedArgs {
  reason?: string | Buffer;
}

/** connection.unblocked (10, 61): indicate that connection is unblocked. */
export interface ConnectionUnblocked {
  readonly id: 0x000a003d;
}
/** Arguments for encoding connection.unblocked; those with a default in the spec may be left out. */
export interface ConnectionUnblockedArgs {
}

/** connection.update-secret (10, 70): update secret. */
export interface ConnectionUpdateSecret {
  readonly id: 0x000a0046;
  newSecret: Buffer;
  reason: string;
}
/** Arguments for encoding connection.update-secret; those with a default in the spec may be left out. */
export interface ConnectionUpdateSecretArgs {
  newSecret: string | Buffer;
  reason: string | Buffer;
}

/** connection.update-secret-ok (10, 71): update secret response. */
export interface ConnectionUpdateSecretOk {
  readonly id: 0x000a0047;
}
/** Arguments for encoding connection.update-secret-ok; those with a default in the spec may be left out. */
export interface ConnectionUpdateSecretOkArgs {
}

/** channel.open (20, 10): open a channel for use. */
export interface ChannelOpen {
  readonly id: 0x0014000a;
  outOfBand: string;
}
/** Arguments for encoding channel.open; those with a default in the spec may be left out. */
export interface ChannelOpenArgs {
  outOfBand?: string | Buffer;
}

/** channel.open-ok (20, 11): signal that the channel is ready. */
export interface ChannelOpenOk {
  readonly id: 0x0014000b;
  channelId: Buffer;
}
/** Arguments for encoding channel.open-ok; those with a default in the spec may be left out. */
export interface ChannelOpenOkArgs {
  channelId?: string | Buffer;
}

/** channel.flow (20, 20): enable/disable flow from peer. */
export interface ChannelFlow {
  readonly id: 0x00140014;
  active: boolean;
}
/** Arguments for encoding channel.flow; those with a default in the spec may be left out. */
export interface ChannelFlowArgs {
  active: boolean;
}

/** channel.flow-ok (20, 21): confirm a flow method. */
export interface ChannelFlowOk {
  readonly id: 0x00140015;
  active: boolean;
}
/** Arguments for encoding channel.flow-ok; those with a default in the spec may be left out. */
export interface ChannelFlowOkArgs {
  active: boolean;
}

/** channel.close (20, 40): request a channel close. */
export interface ChannelClose {
  readonly id: 0x00140028;
  replyCode: number;
  replyText: string;
  classId: number;
  methodId: number;
}
/** Arguments for encoding channel.close; those with a default in the spec may be left out. */
export interface ChannelCloseArgs {
  replyCode: number;
  replyText?: string | Buffer;
  classId: number;
  methodId: number;
}

/** channel.close-ok (20, 41): confirm a channel close. */
export interface ChannelCloseOk {
  readonly id: 0x00140029;
}
/** Arguments for encoding channel.close-ok; those with a default in the spec may be left out. */
export interface ChannelCloseOkArgs {
}

/** access.request (30, 10): . */
export interface AccessRequest {
  readonly id: 0x001e000a;
  realm: string;
  exclusive: boolean;
  passive: boolean;
  active: boolean;
  write: boolean;
  read: boolean;
}
/** Arguments for encoding access.request; those with a default in the spec may be left out. */
export interface AccessRequestArgs {
  realm?: string | Buffer;
  exclusive?: boolean;
  passive?: boolean;
  active?: boolean;
  write?: boolean;
  read?: boolean;
}

/** access.request-ok (30, 11): . */
export interface AccessRequestOk {
  readonly id: 0x001e000b;
  ticket: number;
}
/** Arguments for encoding access.request-ok; those with a default in the spec may be left out. */
export interface AccessRequestOkArgs {
  ticket?: number;
}

/** exchange.declare (40, 10): verify exchange exists, create if needed. */
export interface ExchangeDeclare {
  readonly id: 0x0028000a;
  ticket: number;
  exchange: string;
  type: string;
  passive: boolean;
  durable: boolean;
  autoDelete: boolean;
  internal: boolean;
  nowait: boolean;
  arguments: FieldTable;
}
/** Arguments for encoding exchange.declare; those with a default in the spec may be left out. */
export interface ExchangeDeclareArgs {
  ticket?: number;
  exchange: string | Buffer;
  type?: string | Buffer;
  passive?: boolean;
  durable?: boolean;
  autoDelete?: boolean;
  internal?: boolean;
  nowait?: boolean;
  arguments?: FieldTable;
}

/** exchange.declare-ok (40, 11): confirm exchange declaration. */
export interface ExchangeDeclareOk {
  readonly id: 0x0028000b;
}
/** Arguments for encoding exchange.declare-ok; those with a default in the spec may be left out. */
export interface ExchangeDeclareOkArgs {
}

/** exchange.delete (40, 20): delete an exchange. */
export interface ExchangeDelete {
  readonly id: 0x00280014;
  ticket: number;
  exchange: string;
  ifUnused: boolean;
  nowait: boolean;
}
/** Arguments for encoding exchange.delete; those with a default in the spec may be left out. */
export interface ExchangeDeleteArgs {
  ticket?: number;
  exchange: string | Buffer;
  ifUnused?: boolean;
  nowait?: boolean;
}

/** exchange.delete-ok (40, 21): confirm deletion of an exchange. */
export interface ExchangeDeleteOk {
  readonly id: 0x00280015;
}
/** Arguments for encoding exchange.delete-ok; those with a default in the spec may be left out. */
export interface ExchangeDeleteOkArgs {
}

/** exchange.bind (40, 30): bind exchange to an exchange. */
export interface ExchangeBind {
  readonly id: 0x0028001e;
  ticket: number;
  destination: string;
  source: string;
  routingKey: string;
  nowait: boolean;
  arguments: FieldTable;
}
/** Arguments for encoding exchange.bind; those with a default in the spec may be left out. */
export interface ExchangeBindArgs {
  ticket?: number;
  destination: string | Buffer;
  source: string | Buffer;
  routingKey?: string | Buffer;
  nowait?: boolean;
  arguments?: FieldTable;
}

/** exchange.bind-ok (40, 31): confirm bind successful. */
export interface ExchangeBindOk {
  readonly id: 0x0028001f;
}
/** Arguments for encoding exchange.bind-ok; those with a default in the spec may be left out. */
export interface ExchangeBindOkArgs {
}

/** exchange.unbind (40, 40): unbind an exchange from an exchange. */
export interface ExchangeUnbind {
  readonly id: 0x00280028;
  ticket: number;
  destination: string;
  source: string;
  routingKey: string;
  nowait: boolean;
  arguments: FieldTable;
}
/** Arguments for encoding exchange.unbind; those with a default in the spec may be left out. */
export interface ExchangeUnbindArgs {
  ticket?: number;
  destination: string | Buffer;
  source: string | Buffer;
  routingKey?: string | Buffer;
  nowait?: boolean;
  arguments?: FieldTable;
}

/** exchange.unbind-ok (40, 51): confirm unbind successful. */
export interface ExchangeUnbindOk {
  readonly id: 0x00280033;
}
/** Arguments for encoding exchange.unbind-ok; those with a default in the spec may be left out. */
export interface ExchangeUnbindOkArgs {
}

/** queue.declare (50, 10): declare queue, create if needed. */
export interface QueueDeclare {
  readonly id: 0x0032000a;
  ticket: number;
  queue: string;
  passive: boolean;
  durable: boolean;
  exclusive: boolean;
  autoDelete: boolean;
  nowait: boolean;
  arguments: FieldTable;
}
/** Arguments for encoding queue.declare; those with a default in the spec may be left out. */
export interface QueueDeclareArgs {
  ticket?: number;
  queue?: string | Buffer;
  passive?: boolean;
  durable?: boolean;
  exclusive?: boolean;
  autoDelete?: boolean;
  nowait?: boolean;
  arguments?: FieldTable;
}

/** queue.declare-ok (50, 11): confirms a queue definition. */
export interface QueueDeclareOk {
  readonly id: 0x0032000b;
  queue: string;
  messageCount: number;
  consumerCount: number;
}
/** Arguments for encoding queue.declare-ok; those with a default in the spec may be left out. */
export interface QueueDeclareOkArgs {
  queue: string | Buffer;
  messageCount: number;
  consumerCount: number;
}

/** queue.bind (50, 20): bind queue to an exchange. */
export interface QueueBind {
  readonly id: 0x00320014;
  ticket: number;
  queue: string;
  exchange: string;
  routingKey: string;
  nowait: boolean;
  arguments: FieldTable;
}
/** Arguments for encoding queue.bind; those with a default in the spec may be left out. */
export interface QueueBindArgs {
  ticket?: number;
  queue?: string | Buffer;
  exchange: string | Buffer;
  routingKey?: string | Buffer;
  nowait?: boolean;
  arguments?: FieldTable;
}

/** queue.bind-ok (50, 21): confirm bind successful. */
export interface QueueBindOk {
  readonly id: 0x00320015;
}
/** Arguments for encoding queue.bind-ok; those with a default in the spec may be left out. */
export interface QueueBindOkArgs {
}

/** queue.purge (50, 30): purge a queue. */
export interface QueuePurge {
  readonly id: 0x0032001e;
  ticket: number;
  queue: string;
  nowait: boolean;
}
/** Arguments for encoding queue.purge; those with a default in the spec may be left out. */
export interface QueuePurgeArgs {
  ticket?: number;
  queue?: string | Buffer;
  nowait?: boolean;
}

/** queue.purge-ok (50, 31): confirms a queue purge. */
export interface QueuePurgeOk {
  readonly id: 0x0032001f;
  messageCount: number;
}
/** Arguments for encoding queue.purge-ok; those with a default in the spec may be left out. */
export interface QueuePurgeOkArgs {
  messageCount: number;
}

/** queue.delete (50, 40): delete a queue. */
export interface QueueDelete {
  readonly id: 0x00320028;
  ticket: number;
  queue: string;
  ifUnused: boolean;
  ifEmpty: boolean;
  nowait: boolean;
}
/** Arguments for encoding queue.delete; those with a default in the spec may be left out. */
export interface QueueDeleteArgs {
  ticket?: number;
  queue?: string | Buffer;
  ifUnused?: boolean;
  ifEmpty?: boolean;
  nowait?: boolean;
}

/** queue.delete-ok (50, 41): confirm deletion of a queue. */
export interface QueueDeleteOk {
  readonly id: 0x00320029;
  messageCount: number;
}
/** Arguments for encoding queue.delete-ok; those with a default in the spec may be left out. */
export interface QueueDeleteOkArgs {
  messageCount: number;
}

/** queue.unbind (50, 50): unbind a queue from an exchange. */
export interface QueueUnbind {
  readonly id: 0x00320032;
  ticket: number;
  queue: string;
  exchange: string;
  routingKey: string;
  arguments: FieldTable;
}
/** Arguments for encoding queue.unbind; those with a default in the spec may be left out. */
export interface QueueUnbindArgs {
  ticket?: number;
  queue?: string | Buffer;
  exchange: string | Buffer;
  routingKey?: string | Buffer;
  arguments?: FieldTable;
}

/** queue.unbind-ok (50, 51): confirm unbind successful. */
export interface QueueUnbindOk {
  readonly id: 0x00320033;
}
/** Arguments for encoding queue.unbind-ok; those with a default in the spec may be left out. */
export interface QueueUnbindOkArgs {
}

/** basic.qos (60, 10): specify quality of service. */
export interface BasicQos {
  readonly id: 0x003c000a;
  prefetchSize: number;
  prefetchCount: number;
  global: boolean;
}
/** Arguments for encoding basic.qos; those with a default in the spec may be left out. */
export interface BasicQosArgs {
  prefetchSize?: number;
  prefetchCount?: number;
  global?: boolean;
}

/** basic.qos-ok (60, 11): confirm the requested qos. */
export interface BasicQosOk {
  readonly id: 0x003c000b;
}
/** Arguments for encoding basic.qos-ok; those with a default in the spec may be left out. */
export interface BasicQosOkArgs {
}

/** basic.consume (60, 20): start a queue consumer. */
export interface BasicConsume {
  readonly id: 0x003c0014;
  ticket: number;
  queue: string;
  consumerTag: string;
  noLocal: boolean;
  noAck: boolean;
  exclusive: boolean;
  nowait: boolean;
  arguments: FieldTable;
}
/** Arguments for encoding basic.consume; those with a default in the spec may be left out. */
export interface BasicConsumeArgs {
  ticket?: number;
  queue?: string | Buffer;
  consumerTag?: string | Buffer;
  noLocal?: boolean;
  noAck?: boolean;
  exclusive?: boolean;
  nowait?: boolean;
  arguments?: FieldTable;
}

/** basic.consume-ok (60, 21): confirm a new consumer. */
export interface BasicConsumeOk {
  readonly id: 0x003c0015;
  consumerTag: string;
}
/** Arguments for encoding basic.consume-ok; those with a default in the spec may be left out. */
export interface BasicConsumeOkArgs {
  consumerTag: string | Buffer;
}

/** basic.cancel (60, 30): end a queue consumer. */
export interface BasicCancel {
  readonly id: 0x003c001e;
  consumerTag: string;
  nowait: boolean;
}
/** Arguments for encoding basic.cancel; those with a default in the spec may be left out. */
export interface BasicCancelArgs {
  consumerTag: string | Buffer;
  nowait?: boolean;
}

/** basic.cancel-ok (60, 31): confirm a cancelled consumer. */
export interface BasicCancelOk {
  readonly id: 0x003c001f;
  consumerTag: string;
}
/** Arguments for encoding basic.cancel-ok; those with a default in the spec may be left out. */
export interface BasicCancelOkArgs {
  consumerTag: string | Buffer;
}

/** basic.publish (60, 40): publish a message. */
export interface BasicPublish {
  readonly id: 0x003c0028;
  ticket: number;
  exchange: string;
  routingKey: string;
  mandatory: boolean;
  immediate: boolean;
}
/** Arguments for encoding basic.publish; those with a default in the spec may be left out. */
export interface BasicPublishArgs {
  ticket?: number;
  exchange?: string | Buffer;
  routingKey?: string | Buffer;
  mandatory?: boolean;
  immediate?: boolean;
}

/** basic.return (60, 50): return a failed message. */
export interface BasicReturn {
  readonly id: 0x003c0032;
  replyCode: number;
  replyText: string;
  exchange: string;
  routingKey: string;
}
/** Arguments for encoding basic.return; those with a default in the spec may be left out. */
export interface BasicReturnArgs {
  replyCode: number;
  replyText?: string | Buffer;
  exchange: string | Buffer;
  routingKey: string | Buffer;
}

/** basic.deliver (60, 60): notify the client of a consumer message. */
export interface BasicDeliver {
  readonly id: 0x003c003c;
  consumerTag: string;
  deliveryTag: number;
  redelivered: boolean;
  exchange: string;
  routingKey: string;
}
/** Arguments for encoding basic.deliver; those with a default in the spec may be left out. */
export interface BasicDeliverArgs {
  consumerTag: string | Buffer;
  deliveryTag: number;
  redelivered?: boolean;
  exchange: string | Buffer;
  routingKey: string | Buffer;
}

/** basic.get (60, 70): direct access to a queue. */
export interface BasicGet {
  readonly id: 0x003c0046;
  ticket: number;
  queue: string;
  noAck: boolean;
}
/** Arguments for encoding basic.get; those with a default in the spec may be left out. */
export interface BasicGetArgs {
  ticket?: number;
  queue?: string | Buffer;
  noAck?: boolean;
}

/** basic.get-ok (60, 71): provide client with a message. */
export interface BasicGetOk {
  readonly id: 0x003c0047;
  deliveryTag: number;
  redelivered: boolean;
  exchange: string;
  routingKey: string;
  messageCount: number;
}
/** Arguments for encoding basic.get-ok; those with a default in the spec may be left out. */
export interface BasicGetOkArgs {
  deliveryTag: number;
  redelivered?: boolean;
  exchange: string | Buffer;
  routingKey: string | Buffer;
  messageCount: number;
}

/** basic.get-empty (60, 72): indicate no messages available. */
export interface BasicGetEmpty {
  readonly id: 0x003c0048;
  clusterId: string;
}
/** Arguments for encoding basic.get-empty; those with a default in the spec may be left out. */
export interface BasicGetEmptyArgs {
  clusterId?: string | Buffer;
}

/** basic.ack (60, 80): acknowledge one or more messages. */
export interface BasicAck {
  readonly id: 0x003c0050;
  deliveryTag: number;
  multiple: boolean;
}
/** Arguments for encoding basic.ack; those with a default in the spec may be left out. */
export interface BasicAckArgs {
  deliveryTag?: number;
  multiple?: boolean;
}

/** basic.reject (60, 90): reject an incoming message. */
export interface BasicReject {
  readonly id: 0x003c005a;
  deliveryTag: number;
  requeue: boolean;
}
/** Arguments for encoding basic.reject; those with a default in the spec may be left out. */
export interface BasicRejectArgs {
  deliveryTag: number;
  requeue?: boolean;
}

/** basic.recover-async (60, 100): redeliver unacknowledged messages. */
export interface BasicRecoverAsync {
  readonly id: 0x003c0064;
  requeue: boolean;
}
/** Arguments for encoding basic.recover-async; those with a default in the spec may be left out. */
export interface BasicRecoverAsyncArgs {
  requeue?: boolean;
}

/** basic.recover (60, 110): redeliver unacknowledged messages. */
export interface BasicRecover {
  readonly id: 0x003c006e;
  requeue: boolean;
}
/** Arguments for encoding basic.recover; those with a default in the spec may be left out. */
export interface BasicRecoverArgs {
  requeue?: boolean;
}

/** basic.recover-ok (60, 111): confirm recovery. */
export interface BasicRecoverOk {
  readonly id: 0x003c006f;
}
/** Arguments for encoding basic.recover-ok; those with a default in the spec may be left out. */
export interface BasicRecoverOkArgs {
}

/** basic.nack (60, 120): reject one or more incoming messages. */
export interface BasicNack {
  readonly id: 0x003c0078;
  deliveryTag: number;
  multiple: boolean;
  requeue: boolean;
}
/** Arguments for encoding basic.nack; those with a default in the spec may be left out. */
export interface BasicNackArgs {
  deliveryTag?: number;
  multiple?: boolean;
  requeue?: boolean;
}

/** basic.credit (60, 200): . */
export interface BasicCredit {
  readonly id: 0x003c00c8;
  consumerTag: string;
  credit: number;
  drain: boolean;
}
/** Arguments for encoding basic.credit; those with a default in the spec may be left out. */
export interface BasicCreditArgs {
  consumerTag?: string | Buffer;
  credit: number;
  drain: boolean;
}

/** basic.credit-ok (60, 201): . */
export interface BasicCreditOk {
  readonly id: 0x003c00c9;
  available: number;
}
/** Arguments for encoding basic.credit-ok; those with a default in the spec may be left out. */
export interface BasicCreditOkArgs {
  available: number;
}

/** basic.credit-drained (60, 202): . */
export interface BasicCreditDrained {
  readonly id: 0x003c00ca;
  consumerTag: string;
  creditDrained: number;
}
/** Arguments for encoding basic.credit-drained; those with a default in the spec may be left out. */
export interface BasicCreditDrainedArgs {
  consumerTag?: string | Buffer;
  creditDrained: number;
}

/** tx.select (90, 10): select standard transaction mode. */
export interface TxSelect {
  readonly id: 0x005a000a;
}
/** Arguments for encoding tx.select; those with a default in the spec may be left out. */
export interface TxSelectArgs {
}

/** tx.select-ok (90, 11): confirm transaction mode. */
export interface TxSelectOk {
  readonly id: 0x005a000b;
}
/** Arguments for encoding tx.select-ok; those with a default in the spec may be left out. */
export interface TxSelectOkArgs {
}

/** tx.commit (90, 20): commit the current transaction. */
export interface TxCommit {
  readonly id: 0x005a0014;
}
/** Arguments for encoding tx.commit; those with a default in the spec may be left out. */
export interface TxCommitArgs {
}

/** tx.commit-ok (90, 21): confirm a successful commit. */
export interface TxCommitOk {
  readonly id: 0x005a0015;
}
/** Arguments for encoding tx.commit-ok; those with a default in the spec may be left out. */
export interface TxCommitOkArgs {
}

/** tx.rollback (90, 30): abandon the current transaction. */
export interface TxRollback {
  readonly id: 0x005a001e;
}
/** Arguments for encoding tx.rollback; those with a default in the spec may be left out. */
export interface TxRollbackArgs {
}

/** tx.rollback-ok (90, 31): confirm successful rollback. */
export interface TxRollbackOk {
  readonly id: 0x005a001f;
}
/** Arguments for encoding tx.rollback-ok; those with a default in the spec may be left out. */
export interface TxRollbackOkArgs {
}

/** confirm.select (85, 10): . */
export interface ConfirmSelect {
  readonly id: 0x0055000a;
  nowait: boolean;
}
/** Arguments for encoding confirm.select; those with a default in the spec may be left out. */
export interface ConfirmSelectArgs {
  nowait?: boolean;
}

/** confirm.select-ok (85, 11): . */
export interface ConfirmSelectOk {
  readonly id: 0x0055000b;
}
/** Arguments for encoding confirm.select-ok; those with a default in the spec may be left out. */
export interface ConfirmSelectOkArgs {
}

export type AnyMethod =
  | ConnectionStart
  | ConnectionStartOk
  | ConnectionSecure
  | ConnectionSecureOk
  | ConnectionTune
  | ConnectionTuneOk
  | ConnectionOpen
  | ConnectionOpenOk
  | ConnectionClose
  | ConnectionCloseOk
  | ConnectionBlocked
  | ConnectionUnblocked
  | ConnectionUpdateSecret
  | ConnectionUpdateSecretOk
  | ChannelOpen
  | ChannelOpenOk
  | ChannelFlow
  | ChannelFlowOk
  | ChannelClose
  | ChannelCloseOk
  | AccessRequest
  | AccessRequestOk
  | ExchangeDeclare
  | ExchangeDeclareOk
  | ExchangeDelete
  | ExchangeDeleteOk
  | ExchangeBind
  | ExchangeBindOk
  | ExchangeUnbind
  | ExchangeUnbindOk
  | QueueDeclare
  | QueueDeclareOk
  | QueueBind
  | QueueBindOk
  | QueuePurge
  | QueuePurgeOk
  | QueueDelete
  | QueueDeleteOk
  | QueueUnbind
  | QueueUnbindOk
  | BasicQos
  | BasicQosOk
  | BasicConsume
  | BasicConsumeOk
  | BasicCancel
  | BasicCancelOk
  | BasicPublish
  | BasicReturn
  | BasicDeliver
  | BasicGet
  | BasicGetOk
  | BasicGetEmpty
  | BasicAck
  | BasicReject
  | BasicRecoverAsync
  | BasicRecover
  | BasicRecoverOk
  | BasicNack
  | BasicCredit
  | BasicCreditOk
  | BasicCreditDrained
  | TxSelect
  | TxSelectOk
  | TxCommit
  | TxCommitOk
  | TxRollback
  | TxRollbackOk
  | ConfirmSelect
  | ConfirmSelectOk
  ;

export function decodeConnectionStart(r: Reader): ConnectionStart {
  const f_versionMajor = r.octet();
  const f_versionMinor = r.octet();
  const f_serverProperties = r.table();
  const f_mechanisms = r.longstr();
  const f_locales = r.longstr();
  return { id: 0x000a000a, versionMajor: f_versionMajor, versionMinor: f_versionMinor, serverProperties: f_serverProperties, mechanisms: f_mechanisms, locales: f_locales };
}

export function decodeConnectionStartOk(r: Reader): ConnectionStartOk {
  const f_clientProperties = r.table();
  const f_mechanism = r.shortstrUtf8();
  const f_response = r.longstr();
  const f_locale = r.shortstrUtf8();
  return { id: 0x000a000b, clientProperties: f_clientProperties, mechanism: f_mechanism, response: f_response, locale: f_locale };
}

export function decodeConnectionSecure(r: Reader): ConnectionSecure {
  const f_challenge = r.longstr();
  return { id: 0x000a0014, challenge: f_challenge };
}

export function decodeConnectionSecureOk(r: Reader): ConnectionSecureOk {
  const f_response = r.longstr();
  return { id: 0x000a0015, response: f_response };
}

export function decodeConnectionTune(r: Reader): ConnectionTune {
  const f_channelMax = r.short();
  const f_frameMax = r.long();
  const f_heartbeat = r.short();
  return { id: 0x000a001e, channelMax: f_channelMax, frameMax: f_frameMax, heartbeat: f_heartbeat };
}

export function decodeConnectionTuneOk(r: Reader): ConnectionTuneOk {
  const f_channelMax = r.short();
  const f_frameMax = r.long();
  const f_heartbeat = r.short();
  return { id: 0x000a001f, channelMax: f_channelMax, frameMax: f_frameMax, heartbeat: f_heartbeat };
}

export function decodeConnectionOpen(r: Reader): ConnectionOpen {
  const f_virtualHost = r.shortstrUtf8();
  const f_capabilities = r.shortstrUtf8();
  const f_insist = r.bit();
  return { id: 0x000a0028, virtualHost: f_virtualHost, capabilities: f_capabilities, insist: f_insist };
}

export function decodeConnectionOpenOk(r: Reader): ConnectionOpenOk {
  const f_knownHosts = r.shortstrUtf8();
  return { id: 0x000a0029, knownHosts: f_knownHosts };
}

export function decodeConnectionClose(r: Reader): ConnectionClose {
  const f_replyCode = r.short();
  const f_replyText = r.shortstrUtf8();
  const f_classId = r.short();
  const f_methodId = r.short();
  return { id: 0x000a0032, replyCode: f_replyCode, replyText: f_replyText, classId: f_classId, methodId: f_methodId };
}

export function decodeConnectionCloseOk(_r: Reader): ConnectionCloseOk {
  return { id: 0x000a0033 };
}

export function decodeConnectionBlocked(r: Reader): ConnectionBlocked {
  const f_reason = r.shortstrUtf8();
  return { id: 0x000a003c, reason: f_reason };
}

export function decodeConnectionUnblocked(_r: Reader): ConnectionUnblocked {
  return { id: 0x000a003d };
}

export function decodeConnectionUpdateSecret(r: Reader): ConnectionUpdateSecret {
  const f_newSecret = r.longstr();
  const f_reason = r.shortstrUtf8();
  return { id: 0x000a0046, newSecret: f_newSecret, reason: f_reason };
}

export function decodeConnectionUpdateSecretOk(_r: Reader): ConnectionUpdateSecretOk {
  return { id: 0x000a0047 };
}

export function decodeChannelOpen(r: Reader): ChannelOpen {
  const f_outOfBand = r.shortstrUtf8();
  return { id: 0x0014000a, outOfBand: f_outOfBand };
}

export function decodeChannelOpenOk(r: Reader): ChannelOpenOk {
  const f_channelId = r.longstr();
  return { id: 0x0014000b, channelId: f_channelId };
}

export function decodeChannelFlow(r: Reader): ChannelFlow {
  const f_active = r.bit();
  return { id: 0x00140014, active: f_active };
}

export function decodeChannelFlowOk(r: Reader): ChannelFlowOk {
  const f_active = r.bit();
  return { id: 0x00140015, active: f_active };
}

export function decodeChannelClose(r: Reader): ChannelClose {
  const f_replyCode = r.short();
  const f_replyText = r.shortstrUtf8();
  const f_classId = r.short();
  const f_methodId = r.short();
  return { id: 0x00140028, replyCode: f_replyCode, replyText: f_replyText, classId: f_classId, methodId: f_methodId };
}

export function decodeChannelCloseOk(_r: Reader): ChannelCloseOk {
  return { id: 0x00140029 };
}

export function decodeAccessRequest(r: Reader): AccessRequest {
  const f_realm = r.shortstrUtf8();
  const f_exclusive = r.bit();
  const f_passive = r.bit();
  const f_active = r.bit();
  const f_write = r.bit();
  const f_read = r.bit();
  return { id: 0x001e000a, realm: f_realm, exclusive: f_exclusive, passive: f_passive, active: f_active, write: f_write, read: f_read };
}

export function decodeAccessRequestOk(r: Reader): AccessRequestOk {
  const f_ticket = r.short();
  return { id: 0x001e000b, ticket: f_ticket };
}

export function decodeExchangeDeclare(r: Reader): ExchangeDeclare {
  const f_ticket = r.short();
  const f_exchange = r.shortstrUtf8();
  const f_type = r.shortstrUtf8();
  const f_passive = r.bit();
  const f_durable = r.bit();
  const f_autoDelete = r.bit();
  const f_internal = r.bit();
  const f_nowait = r.bit();
  const f_arguments = r.table();
  return { id: 0x0028000a, ticket: f_ticket, exchange: f_exchange, type: f_type, passive: f_passive, durable: f_durable, autoDelete: f_autoDelete, internal: f_internal, nowait: f_nowait, arguments: f_arguments };
}

export function decodeExchangeDeclareOk(_r: Reader): ExchangeDeclareOk {
  return { id: 0x0028000b };
}

export function decodeExchangeDelete(r: Reader): ExchangeDelete {
  const f_ticket = r.short();
  const f_exchange = r.shortstrUtf8();
  const f_ifUnused = r.bit();
  const f_nowait = r.bit();
  return { id: 0x00280014, ticket: f_ticket, exchange: f_exchange, ifUnused: f_ifUnused, nowait: f_nowait };
}

export function decodeExchangeDeleteOk(_r: Reader): ExchangeDeleteOk {
  return { id: 0x00280015 };
}

export function decodeExchangeBind(r: Reader): ExchangeBind {
  const f_ticket = r.short();
  const f_destination = r.shortstrUtf8();
  const f_source = r.shortstrUtf8();
  const f_routingKey = r.shortstrUtf8();
  const f_nowait = r.bit();
  const f_arguments = r.table();
  return { id: 0x0028001e, ticket: f_ticket, destination: f_destination, source: f_source, routingKey: f_routingKey, nowait: f_nowait, arguments: f_arguments };
}

export function decodeExchangeBindOk(_r: Reader): ExchangeBindOk {
  return { id: 0x0028001f };
}

export function decodeExchangeUnbind(r: Reader): ExchangeUnbind {
  const f_ticket = r.short();
  const f_destination = r.shortstrUtf8();
  const f_source = r.shortstrUtf8();
  const f_routingKey = r.shortstrUtf8();
  const f_nowait = r.bit();
  const f_arguments = r.table();
  return { id: 0x00280028, ticket: f_ticket, destination: f_destination, source: f_source, routingKey: f_routingKey, nowait: f_nowait, arguments: f_arguments };
}

export function decodeExchangeUnbindOk(_r: Reader): ExchangeUnbindOk {
  return { id: 0x00280033 };
}

export function decodeQueueDeclare(r: Reader): QueueDeclare {
  const f_ticket = r.short();
  const f_queue = r.shortstrUtf8();
  const f_passive = r.bit();
  const f_durable = r.bit();
  const f_exclusive = r.bit();
  const f_autoDelete = r.bit();
  const f_nowait = r.bit();
  const f_arguments = r.table();
  return { id: 0x0032000a, ticket: f_ticket, queue: f_queue, passive: f_passive, durable: f_durable, exclusive: f_exclusive, autoDelete: f_autoDelete, nowait: f_nowait, arguments: f_arguments };
}

export function decodeQueueDeclareOk(r: Reader): QueueDeclareOk {
  const f_queue = r.shortstrUtf8();
  const f_messageCount = r.long();
  const f_consumerCount = r.long();
  return { id: 0x0032000b, queue: f_queue, messageCount: f_messageCount, consumerCount: f_consumerCount };
}

export function decodeQueueBind(r: Reader): QueueBind {
  const f_ticket = r.short();
  const f_queue = r.shortstrUtf8();
  const f_exchange = r.shortstrUtf8();
  const f_routingKey = r.shortstrUtf8();
  const f_nowait = r.bit();
  const f_arguments = r.table();
  return { id: 0x00320014, ticket: f_ticket, queue: f_queue, exchange: f_exchange, routingKey: f_routingKey, nowait: f_nowait, arguments: f_arguments };
}

export function decodeQueueBindOk(_r: Reader): QueueBindOk {
  return { id: 0x00320015 };
}

export function decodeQueuePurge(r: Reader): QueuePurge {
  const f_ticket = r.short();
  const f_queue = r.shortstrUtf8();
  const f_nowait = r.bit();
  return { id: 0x0032001e, ticket: f_ticket, queue: f_queue, nowait: f_nowait };
}

export function decodeQueuePurgeOk(r: Reader): QueuePurgeOk {
  const f_messageCount = r.long();
  return { id: 0x0032001f, messageCount: f_messageCount };
}

export function decodeQueueDelete(r: Reader): QueueDelete {
  const f_ticket = r.short();
  const f_queue = r.shortstrUtf8();
  const f_ifUnused = r.bit();
  const f_ifEmpty = r.bit();
  const f_nowait = r.bit();
  return { id: 0x00320028, ticket: f_ticket, queue: f_queue, ifUnused: f_ifUnused, ifEmpty: f_ifEmpty, nowait: f_nowait };
}

export function decodeQueueDeleteOk(r: Reader): QueueDeleteOk {
  const f_messageCount = r.long();
  return { id: 0x00320029, messageCount: f_messageCount };
}

export function decodeQueueUnbind(r: Reader): QueueUnbind {
  const f_ticket = r.short();
  const f_queue = r.shortstrUtf8();
  const f_exchange = r.shortstrUtf8();
  const f_routingKey = r.shortstrUtf8();
  const f_arguments = r.table();
  return { id: 0x00320032, ticket: f_ticket, queue: f_queue, exchange: f_exchange, routingKey: f_routingKey, arguments: f_arguments };
}

export function decodeQueueUnbindOk(_r: Reader): QueueUnbindOk {
  return { id: 0x00320033 };
}

export function decodeBasicQos(r: Reader): BasicQos {
  const f_prefetchSize = r.long();
  const f_prefetchCount = r.short();
  const f_global = r.bit();
  return { id: 0x003c000a, prefetchSize: f_prefetchSize, prefetchCount: f_prefetchCount, global: f_global };
}

export function decodeBasicQosOk(_r: Reader): BasicQosOk {
  return { id: 0x003c000b };
}

export function decodeBasicConsume(r: Reader): BasicConsume {
  const f_ticket = r.short();
  const f_queue = r.shortstrUtf8();
  const f_consumerTag = r.shortstrUtf8();
  const f_noLocal = r.bit();
  const f_noAck = r.bit();
  const f_exclusive = r.bit();
  const f_nowait = r.bit();
  const f_arguments = r.table();
  return { id: 0x003c0014, ticket: f_ticket, queue: f_queue, consumerTag: f_consumerTag, noLocal: f_noLocal, noAck: f_noAck, exclusive: f_exclusive, nowait: f_nowait, arguments: f_arguments };
}

export function decodeBasicConsumeOk(r: Reader): BasicConsumeOk {
  const f_consumerTag = r.shortstrUtf8();
  return { id: 0x003c0015, consumerTag: f_consumerTag };
}

export function decodeBasicCancel(r: Reader): BasicCancel {
  const f_consumerTag = r.shortstrUtf8();
  const f_nowait = r.bit();
  return { id: 0x003c001e, consumerTag: f_consumerTag, nowait: f_nowait };
}

export function decodeBasicCancelOk(r: Reader): BasicCancelOk {
  const f_consumerTag = r.shortstrUtf8();
  return { id: 0x003c001f, consumerTag: f_consumerTag };
}

export function decodeBasicPublish(r: Reader): BasicPublish {
  const f_ticket = r.short();
  const f_exchange = r.shortstr();
  const f_routingKey = r.shortstr();
  const f_mandatory = r.bit();
  const f_immediate = r.bit();
  return { id: 0x003c0028, ticket: f_ticket, exchange: f_exchange, routingKey: f_routingKey, mandatory: f_mandatory, immediate: f_immediate };
}

export function decodeBasicReturn(r: Reader): BasicReturn {
  const f_replyCode = r.short();
  const f_replyText = r.shortstr();
  const f_exchange = r.shortstr();
  const f_routingKey = r.shortstr();
  return { id: 0x003c0032, replyCode: f_replyCode, replyText: f_replyText, exchange: f_exchange, routingKey: f_routingKey };
}

export function decodeBasicDeliver(r: Reader): BasicDeliver {
  const f_consumerTag = r.shortstr();
  const f_deliveryTag = r.longlong();
  const f_redelivered = r.bit();
  const f_exchange = r.shortstr();
  const f_routingKey = r.shortstr();
  return { id: 0x003c003c, consumerTag: f_consumerTag, deliveryTag: f_deliveryTag, redelivered: f_redelivered, exchange: f_exchange, routingKey: f_routingKey };
}

export function decodeBasicGet(r: Reader): BasicGet {
  const f_ticket = r.short();
  const f_queue = r.shortstrUtf8();
  const f_noAck = r.bit();
  return { id: 0x003c0046, ticket: f_ticket, queue: f_queue, noAck: f_noAck };
}

export function decodeBasicGetOk(r: Reader): BasicGetOk {
  const f_deliveryTag = r.longlong();
  const f_redelivered = r.bit();
  const f_exchange = r.shortstr();
  const f_routingKey = r.shortstr();
  const f_messageCount = r.long();
  return { id: 0x003c0047, deliveryTag: f_deliveryTag, redelivered: f_redelivered, exchange: f_exchange, routingKey: f_routingKey, messageCount: f_messageCount };
}

export function decodeBasicGetEmpty(r: Reader): BasicGetEmpty {
  const f_clusterId = r.shortstrUtf8();
  return { id: 0x003c0048, clusterId: f_clusterId };
}

export function decodeBasicAck(r: Reader): BasicAck {
  const f_deliveryTag = r.longlong();
  const f_multiple = r.bit();
  return { id: 0x003c0050, deliveryTag: f_deliveryTag, multiple: f_multiple };
}

export function decodeBasicReject(r: Reader): BasicReject {
  const f_deliveryTag = r.longlong();
  const f_requeue = r.bit();
  return { id: 0x003c005a, deliveryTag: f_deliveryTag, requeue: f_requeue };
}

export function decodeBasicRecoverAsync(r: Reader): BasicRecoverAsync {
  const f_requeue = r.bit();
  return { id: 0x003c0064, requeue: f_requeue };
}

export function decodeBasicRecover(r: Reader): BasicRecover {
  const f_requeue = r.bit();
  return { id: 0x003c006e, requeue: f_requeue };
}

export function decodeBasicRecoverOk(_r: Reader): BasicRecoverOk {
  return { id: 0x003c006f };
}

export function decodeBasicNack(r: Reader): BasicNack {
  const f_deliveryTag = r.longlong();
  const f_multiple = r.bit();
  const f_requeue = r.bit();
  return { id: 0x003c0078, deliveryTag: f_deliveryTag, multiple: f_multiple, requeue: f_requeue };
}

export function decodeBasicCredit(r: Reader): BasicCredit {
  const f_consumerTag = r.shortstrUtf8();
  const f_credit = r.long();
  const f_drain = r.bit();
  return { id: 0x003c00c8, consumerTag: f_consumerTag, credit: f_credit, drain: f_drain };
}

export function decodeBasicCreditOk(r: Reader): BasicCreditOk {
  const f_available = r.long();
  return { id: 0x003c00c9, available: f_available };
}

export function decodeBasicCreditDrained(r: Reader): BasicCreditDrained {
  const f_consumerTag = r.shortstrUtf8();
  const f_creditDrained = r.long();
  return { id: 0x003c00ca, consumerTag: f_consumerTag, creditDrained: f_creditDrained };
}

export function decodeTxSelect(_r: Reader): TxSelect {
  return { id: 0x005a000a };
}

export function decodeTxSelectOk(_r: Reader): TxSelectOk {
  return { id: 0x005a000b };
}

export function decodeTxCommit(_r: Reader): TxCommit {
  return { id: 0x005a0014 };
}

export function decodeTxCommitOk(_r: Reader): TxCommitOk {
  return { id: 0x005a0015 };
}

export function decodeTxRollback(_r: Reader): TxRollback {
  return { id: 0x005a001e };
}

export function decodeTxRollbackOk(_r: Reader): TxRollbackOk {
  return { id: 0x005a001f };
}

export function decodeConfirmSelect(r: Reader): ConfirmSelect {
  const f_nowait = r.bit();
  return { id: 0x0055000a, nowait: f_nowait };
}

export function decodeConfirmSelectOk(_r: Reader): ConfirmSelectOk {
  return { id: 0x0055000b };
}

/** Decodes a method payload positioned after its class and method ids; undefined for an unknown method. */
export function decodeMethod(key: number, r: Reader): AnyMethod | undefined {
  switch (key) {
    case 0x000a000a: return decodeConnectionStart(r);
    case 0x000a000b: return decodeConnectionStartOk(r);
    case 0x000a0014: return decodeConnectionSecure(r);
    case 0x000a0015: return decodeConnectionSecureOk(r);
    case 0x000a001e: return decodeConnectionTune(r);
    case 0x000a001f: return decodeConnectionTuneOk(r);
    case 0x000a0028: return decodeConnectionOpen(r);
    case 0x000a0029: return decodeConnectionOpenOk(r);
    case 0x000a0032: return decodeConnectionClose(r);
    case 0x000a0033: return decodeConnectionCloseOk(r);
    case 0x000a003c: return decodeConnectionBlocked(r);
    case 0x000a003d: return decodeConnectionUnblocked(r);
    case 0x000a0046: return decodeConnectionUpdateSecret(r);
    case 0x000a0047: return decodeConnectionUpdateSecretOk(r);
    case 0x0014000a: return decodeChannelOpen(r);
    case 0x0014000b: return decodeChannelOpenOk(r);
    case 0x00140014: return decodeChannelFlow(r);
    case 0x00140015: return decodeChannelFlowOk(r);
    case 0x00140028: return decodeChannelClose(r);
    case 0x00140029: return decodeChannelCloseOk(r);
    case 0x001e000a: return decodeAccessRequest(r);
    case 0x001e000b: return decodeAccessRequestOk(r);
    case 0x0028000a: return decodeExchangeDeclare(r);
    case 0x0028000b: return decodeExchangeDeclareOk(r);
    case 0x00280014: return decodeExchangeDelete(r);
    case 0x00280015: return decodeExchangeDeleteOk(r);
    case 0x0028001e: return decodeExchangeBind(r);
    case 0x0028001f: return decodeExchangeBindOk(r);
    case 0x00280028: return decodeExchangeUnbind(r);
    case 0x00280033: return decodeExchangeUnbindOk(r);
    case 0x0032000a: return decodeQueueDeclare(r);
    case 0x0032000b: return decodeQueueDeclareOk(r);
    case 0x00320014: return decodeQueueBind(r);
    case 0x00320015: return decodeQueueBindOk(r);
    case 0x0032001e: return decodeQueuePurge(r);
    case 0x0032001f: return decodeQueuePurgeOk(r);
    case 0x00320028: return decodeQueueDelete(r);
    case 0x00320029: return decodeQueueDeleteOk(r);
    case 0x00320032: return decodeQueueUnbind(r);
    case 0x00320033: return decodeQueueUnbindOk(r);
    case 0x003c000a: return decodeBasicQos(r);
    case 0x003c000b: return decodeBasicQosOk(r);
    case 0x003c0014: return decodeBasicConsume(r);
    case 0x003c0015: return decodeBasicConsumeOk(r);
    case 0x003c001e: return decodeBasicCancel(r);
    case 0x003c001f: return decodeBasicCancelOk(r);
    case 0x003c0028: return decodeBasicPublish(r);
    case 0x003c0032: return decodeBasicReturn(r);
    case 0x003c003c: return decodeBasicDeliver(r);
    case 0x003c0046: return decodeBasicGet(r);
    case 0x003c0047: return decodeBasicGetOk(r);
    case 0x003c0048: return decodeBasicGetEmpty(r);
    case 0x003c0050: return decodeBasicAck(r);
    case 0x003c005a: return decodeBasicReject(r);
    case 0x003c0064: return decodeBasicRecoverAsync(r);
    case 0x003c006e: return decodeBasicRecover(r);
    case 0x003c006f: return decodeBasicRecoverOk(r);
    case 0x003c0078: return decodeBasicNack(r);
    case 0x003c00c8: return decodeBasicCredit(r);
    case 0x003c00c9: return decodeBasicCreditOk(r);
    case 0x003c00ca: return decodeBasicCreditDrained(r);
    case 0x005a000a: return decodeTxSelect(r);
    case 0x005a000b: return decodeTxSelectOk(r);
    case 0x005a0014: return decodeTxCommit(r);
    case 0x005a0015: return decodeTxCommitOk(r);
    case 0x005a001e: return decodeTxRollback(r);
    case 0x005a001f: return decodeTxRollbackOk(r);
    case 0x0055000a: return decodeConfirmSelect(r);
    case 0x0055000b: return decodeConfirmSelectOk(r);
    default: return undefined;
  }
}

/** Writes a complete connection.start method frame on `channel`. */
export function encodeConnectionStart(w: Writer, channel: number, a: ConnectionStartArgs): void {
  const start = w.frameStart(1, channel);
  w.short(10);
  w.short(10);
  w.octet(a.versionMajor ?? 0);
  w.octet(a.versionMinor ?? 9);
  w.table(a.serverProperties);
  w.longstr(a.mechanisms ?? Buffer.from("PLAIN"));
  w.longstr(a.locales ?? Buffer.from("en_US"));
  w.frameEnd(start);
}

/** Writes a complete connection.start-ok method frame on `channel`. */
export function encodeConnectionStartOk(w: Writer, channel: number, a: ConnectionStartOkArgs): void {
  const start = w.frameStart(1, channel);
  w.short(10);
  w.short(11);
  w.table(a.clientProperties);
  w.shortstr(a.mechanism ?? "PLAIN");
  w.longstr(a.response);
  w.shortstr(a.locale ?? "en_US");
  w.frameEnd(start);
}

/** Writes a complete connection.secure method frame on `channel`. */
export function encodeConnectionSecure(w: Writer, channel: number, a: ConnectionSecureArgs): void {
  const start = w.frameStart(1, channel);
  w.short(10);
  w.short(20);
  w.longstr(a.challenge);
  w.frameEnd(start);
}

/** Writes a complete connection.secure-ok method frame on `channel`. */
export function encodeConnectionSecureOk(w: Writer, channel: number, a: ConnectionSecureOkArgs): void {
  const start = w.frameStart(1, channel);
  w.short(10);
  w.short(21);
  w.longstr(a.response);
  w.frameEnd(start);
}

/** Writes a complete connection.tune method frame on `channel`. */
export function encodeConnectionTune(w: Writer, channel: number, a: ConnectionTuneArgs): void {
  const start = w.frameStart(1, channel);
  w.short(10);
  w.short(30);
  w.short(a.channelMax ?? 0);
  w.long(a.frameMax ?? 0);
  w.short(a.heartbeat ?? 0);
  w.frameEnd(start);
}

/** Writes a complete connection.tune-ok method frame on `channel`. */
export function encodeConnectionTuneOk(w: Writer, channel: number, a: ConnectionTuneOkArgs): void {
  const start = w.frameStart(1, channel);
  w.short(10);
  w.short(31);
  w.short(a.channelMax ?? 0);
  w.long(a.frameMax ?? 0);
  w.short(a.heartbeat ?? 0);
  w.frameEnd(start);
}

/** Writes a complete connection.open method frame on `channel`. */
export function encodeConnectionOpen(w: Writer, channel: number, a: ConnectionOpenArgs): void {
  const start = w.frameStart(1, channel);
  w.short(10);
  w.short(40);
  w.shortstr(a.virtualHost ?? "/");
  w.shortstr(a.capabilities ?? "");
  w.bit(a.insist ?? false);
  w.frameEnd(start);
}

/** Writes a complete connection.open-ok method frame on `channel`. */
export function encodeConnectionOpenOk(w: Writer, channel: number, a: ConnectionOpenOkArgs): void {
  const start = w.frameStart(1, channel);
  w.short(10);
  w.short(41);
  w.shortstr(a.knownHosts ?? "");
  w.frameEnd(start);
}

/** Writes a complete connection.close method frame on `channel`. */
export function encodeConnectionClose(w: Writer, channel: number, a: ConnectionCloseArgs): void {
  const start = w.frameStart(1, channel);
  w.short(10);
  w.short(50);
  w.short(a.replyCode);
  w.shortstr(a.replyText ?? "");
  w.short(a.classId);
  w.short(a.methodId);
  w.frameEnd(start);
}

/** Writes a complete connection.close-ok method frame on `channel`. */
export function encodeConnectionCloseOk(w: Writer, channel: number): void {
  const start = w.frameStart(1, channel);
  w.short(10);
  w.short(51);
  w.frameEnd(start);
}

/** Writes a complete connection.blocked method frame on `channel`. */
export function encodeConnectionBlocked(w: Writer, channel: number, a: ConnectionBlockedArgs): void {
  const start = w.frameStart(1, channel);
  w.short(10);
  w.short(60);
  w.shortstr(a.reason ?? "");
  w.frameEnd(start);
}

/** Writes a complete connection.unblocked method frame on `channel`. */
export function encodeConnectionUnblocked(w: Writer, channel: number): void {
  const start = w.frameStart(1, channel);
  w.short(10);
  w.short(61);
  w.frameEnd(start);
}

/** Writes a complete connection.update-secret method frame on `channel`. */
export function encodeConnectionUpdateSecret(w: Writer, channel: number, a: ConnectionUpdateSecretArgs): void {
  const start = w.frameStart(1, channel);
  w.short(10);
  w.short(70);
  w.longstr(a.newSecret);
  w.shortstr(a.reason);
  w.frameEnd(start);
}

/** Writes a complete connection.update-secret-ok method frame on `channel`. */
export function encodeConnectionUpdateSecretOk(w: Writer, channel: number): void {
  const start = w.frameStart(1, channel);
  w.short(10);
  w.short(71);
  w.frameEnd(start);
}

/** Writes a complete channel.open method frame on `channel`. */
export function encodeChannelOpen(w: Writer, channel: number, a: ChannelOpenArgs): void {
  const start = w.frameStart(1, channel);
  w.short(20);
  w.short(10);
  w.shortstr(a.outOfBand ?? "");
  w.frameEnd(start);
}

/** Writes a complete channel.open-ok method frame on `channel`. */
export function encodeChannelOpenOk(w: Writer, channel: number, a: ChannelOpenOkArgs): void {
  const start = w.frameStart(1, channel);
  w.short(20);
  w.short(11);
  w.longstr(a.channelId ?? Buffer.from(""));
  w.frameEnd(start);
}

/** Writes a complete channel.flow method frame on `channel`. */
export function encodeChannelFlow(w: Writer, channel: number, a: ChannelFlowArgs): void {
  const start = w.frameStart(1, channel);
  w.short(20);
  w.short(20);
  w.bit(a.active);
  w.frameEnd(start);
}

/** Writes a complete channel.flow-ok method frame on `channel`. */
export function encodeChannelFlowOk(w: Writer, channel: number, a: ChannelFlowOkArgs): void {
  const start = w.frameStart(1, channel);
  w.short(20);
  w.short(21);
  w.bit(a.active);
  w.frameEnd(start);
}

/** Writes a complete channel.close method frame on `channel`. */
export function encodeChannelClose(w: Writer, channel: number, a: ChannelCloseArgs): void {
  const start = w.frameStart(1, channel);
  w.short(20);
  w.short(40);
  w.short(a.replyCode);
  w.shortstr(a.replyText ?? "");
  w.short(a.classId);
  w.short(a.methodId);
  w.frameEnd(start);
}

/** Writes a complete channel.close-ok method frame on `channel`. */
export function encodeChannelCloseOk(w: Writer, channel: number): void {
  const start = w.frameStart(1, channel);
  w.short(20);
  w.short(41);
  w.frameEnd(start);
}

/** Writes a complete access.request method frame on `channel`. */
export function encodeAccessRequest(w: Writer, channel: number, a: AccessRequestArgs): void {
  const start = w.frameStart(1, channel);
  w.short(30);
  w.short(10);
  w.shortstr(a.realm ?? "/data");
  w.bit(a.exclusive ?? false);
  w.bit(a.passive ?? true);
  w.bit(a.active ?? true);
  w.bit(a.write ?? true);
  w.bit(a.read ?? true);
  w.frameEnd(start);
}

/** Writes a complete access.request-ok method frame on `channel`. */
export function encodeAccessRequestOk(w: Writer, channel: number, a: AccessRequestOkArgs): void {
  const start = w.frameStart(1, channel);
  w.short(30);
  w.short(11);
  w.short(a.ticket ?? 1);
  w.frameEnd(start);
}

/** Writes a complete exchange.declare method frame on `channel`. */
export function encodeExchangeDeclare(w: Writer, channel: number, a: ExchangeDeclareArgs): void {
  const start = w.frameStart(1, channel);
  w.short(40);
  w.short(10);
  w.short(a.ticket ?? 0);
  w.shortstr(a.exchange);
  w.shortstr(a.type ?? "direct");
  w.bit(a.passive ?? false);
  w.bit(a.durable ?? false);
  w.bit(a.autoDelete ?? false);
  w.bit(a.internal ?? false);
  w.bit(a.nowait ?? false);
  w.table(a.arguments ?? new Map());
  w.frameEnd(start);
}

/** Writes a complete exchange.declare-ok method frame on `channel`. */
export function encodeExchangeDeclareOk(w: Writer, channel: number): void {
  const start = w.frameStart(1, channel);
  w.short(40);
  w.short(11);
  w.frameEnd(start);
}

/** Writes a complete exchange.delete method frame on `channel`. */
export function encodeExchangeDelete(w: Writer, channel: number, a: ExchangeDeleteArgs): void {
  const start = w.frameStart(1, channel);
  w.short(40);
  w.short(20);
  w.short(a.ticket ?? 0);
  w.shortstr(a.exchange);
  w.bit(a.ifUnused ?? false);
  w.bit(a.nowait ?? false);
  w.frameEnd(start);
}

/** Writes a complete exchange.delete-ok method frame on `channel`. */
export function encodeExchangeDeleteOk(w: Writer, channel: number): void {
  const start = w.frameStart(1, channel);
  w.short(40);
  w.short(21);
  w.frameEnd(start);
}

/** Writes a complete exchange.bind method frame on `channel`. */
export function encodeExchangeBind(w: Writer, channel: number, a: ExchangeBindArgs): void {
  const start = w.frameStart(1, channel);
  w.short(40);
  w.short(30);
  w.short(a.ticket ?? 0);
  w.shortstr(a.destination);
  w.shortstr(a.source);
  w.shortstr(a.routingKey ?? "");
  w.bit(a.nowait ?? false);
  w.table(a.arguments ?? new Map());
  w.frameEnd(start);
}

/** Writes a complete exchange.bind-ok method frame on `channel`. */
export function encodeExchangeBindOk(w: Writer, channel: number): void {
  const start = w.frameStart(1, channel);
  w.short(40);
  w.short(31);
  w.frameEnd(start);
}

/** Writes a complete exchange.unbind method frame on `channel`. */
export function encodeExchangeUnbind(w: Writer, channel: number, a: ExchangeUnbindArgs): void {
  const start = w.frameStart(1, channel);
  w.short(40);
  w.short(40);
  w.short(a.ticket ?? 0);
  w.shortstr(a.destination);
  w.shortstr(a.source);
  w.shortstr(a.routingKey ?? "");
  w.bit(a.nowait ?? false);
  w.table(a.arguments ?? new Map());
  w.frameEnd(start);
}

/** Writes a complete exchange.unbind-ok method frame on `channel`. */
export function encodeExchangeUnbindOk(w: Writer, channel: number): void {
  const start = w.frameStart(1, channel);
  w.short(40);
  w.short(51);
  w.frameEnd(start);
}

/** Writes a complete queue.declare method frame on `channel`. */
export function encodeQueueDeclare(w: Writer, channel: number, a: QueueDeclareArgs): void {
  const start = w.frameStart(1, channel);
  w.short(50);
  w.short(10);
  w.short(a.ticket ?? 0);
  w.shortstr(a.queue ?? "");
  w.bit(a.passive ?? false);
  w.bit(a.durable ?? false);
  w.bit(a.exclusive ?? false);
  w.bit(a.autoDelete ?? false);
  w.bit(a.nowait ?? false);
  w.table(a.arguments ?? new Map());
  w.frameEnd(start);
}

/** Writes a complete queue.declare-ok method frame on `channel`. */
export function encodeQueueDeclareOk(w: Writer, channel: number, a: QueueDeclareOkArgs): void {
  const start = w.frameStart(1, channel);
  w.short(50);
  w.short(11);
  w.shortstr(a.queue);
  w.long(a.messageCount);
  w.long(a.consumerCount);
  w.frameEnd(start);
}

/** Writes a complete queue.bind method frame on `channel`. */
export function encodeQueueBind(w: Writer, channel: number, a: QueueBindArgs): void {
  const start = w.frameStart(1, channel);
  w.short(50);
  w.short(20);
  w.short(a.ticket ?? 0);
  w.shortstr(a.queue ?? "");
  w.shortstr(a.exchange);
  w.shortstr(a.routingKey ?? "");
  w.bit(a.nowait ?? false);
  w.table(a.arguments ?? new Map());
  w.frameEnd(start);
}

/** Writes a complete queue.bind-ok method frame on `channel`. */
export function encodeQueueBindOk(w: Writer, channel: number): void {
  const start = w.frameStart(1, channel);
  w.short(50);
  w.short(21);
  w.frameEnd(start);
}

/** Writes a complete queue.purge method frame on `channel`. */
export function encodeQueuePurge(w: Writer, channel: number, a: QueuePurgeArgs): void {
  const start = w.frameStart(1, channel);
  w.short(50);
  w.short(30);
  w.short(a.ticket ?? 0);
  w.shortstr(a.queue ?? "");
  w.bit(a.nowait ?? false);
  w.frameEnd(start);
}

/** Writes a complete queue.purge-ok method frame on `channel`. */
export function encodeQueuePurgeOk(w: Writer, channel: number, a: QueuePurgeOkArgs): void {
  const start = w.frameStart(1, channel);
  w.short(50);
  w.short(31);
  w.long(a.messageCount);
  w.frameEnd(start);
}

/** Writes a complete queue.delete method frame on `channel`. */
export function encodeQueueDelete(w: Writer, channel: number, a: QueueDeleteArgs): void {
  const start = w.frameStart(1, channel);
  w.short(50);
  w.short(40);
  w.short(a.ticket ?? 0);
  w.shortstr(a.queue ?? "");
  w.bit(a.ifUnused ?? false);
  w.bit(a.ifEmpty ?? false);
  w.bit(a.nowait ?? false);
  w.frameEnd(start);
}

/** Writes a complete queue.delete-ok method frame on `channel`. */
export function encodeQueueDeleteOk(w: Writer, channel: number, a: QueueDeleteOkArgs): void {
  const start = w.frameStart(1, channel);
  w.short(50);
  w.short(41);
  w.long(a.messageCount);
  w.frameEnd(start);
}

/** Writes a complete queue.unbind method frame on `channel`. */
export function encodeQueueUnbind(w: Writer, channel: number, a: QueueUnbindArgs): void {
  const start = w.frameStart(1, channel);
  w.short(50);
  w.short(50);
  w.short(a.ticket ?? 0);
  w.shortstr(a.queue ?? "");
  w.shortstr(a.exchange);
  w.shortstr(a.routingKey ?? "");
  w.table(a.arguments ?? new Map());
  w.frameEnd(start);
}

/** Writes a complete queue.unbind-ok method frame on `channel`. */
export function encodeQueueUnbindOk(w: Writer, channel: number): void {
  const start = w.frameStart(1, channel);
  w.short(50);
  w.short(51);
  w.frameEnd(start);
}

/** Writes a complete basic.qos method frame on `channel`. */
export function encodeBasicQos(w: Writer, channel: number, a: BasicQosArgs): void {
  const start = w.frameStart(1, channel);
  w.short(60);
  w.short(10);
  w.long(a.prefetchSize ?? 0);
  w.short(a.prefetchCount ?? 0);
  w.bit(a.global ?? false);
  w.frameEnd(start);
}

/** Writes a complete basic.qos-ok method frame on `channel`. */
export function encodeBasicQosOk(w: Writer, channel: number): void {
  const start = w.frameStart(1, channel);
  w.short(60);
  w.short(11);
  w.frameEnd(start);
}

/** Writes a complete basic.consume method frame on `channel`. */
export function encodeBasicConsume(w: Writer, channel: number, a: BasicConsumeArgs): void {
  const start = w.frameStart(1, channel);
  w.short(60);
  w.short(20);
  w.short(a.ticket ?? 0);
  w.shortstr(a.queue ?? "");
  w.shortstr(a.consumerTag ?? "");
  w.bit(a.noLocal ?? false);
  w.bit(a.noAck ?? false);
  w.bit(a.exclusive ?? false);
  w.bit(a.nowait ?? false);
  w.table(a.arguments ?? new Map());
  w.frameEnd(start);
}

/** Writes a complete basic.consume-ok method frame on `channel`. */
export function encodeBasicConsumeOk(w: Writer, channel: number, a: BasicConsumeOkArgs): void {
  const start = w.frameStart(1, channel);
  w.short(60);
  w.short(21);
  w.shortstr(a.consumerTag);
  w.frameEnd(start);
}

/** Writes a complete basic.cancel method frame on `channel`. */
export function encodeBasicCancel(w: Writer, channel: number, a: BasicCancelArgs): void {
  const start = w.frameStart(1, channel);
  w.short(60);
  w.short(30);
  w.shortstr(a.consumerTag);
  w.bit(a.nowait ?? false);
  w.frameEnd(start);
}

/** Writes a complete basic.cancel-ok method frame on `channel`. */
export function encodeBasicCancelOk(w: Writer, channel: number, a: BasicCancelOkArgs): void {
  const start = w.frameStart(1, channel);
  w.short(60);
  w.short(31);
  w.shortstr(a.consumerTag);
  w.frameEnd(start);
}

/** Writes a complete basic.publish method frame on `channel`. */
export function encodeBasicPublish(w: Writer, channel: number, a: BasicPublishArgs): void {
  const start = w.frameStart(1, channel);
  w.short(60);
  w.short(40);
  w.short(a.ticket ?? 0);
  w.shortstr(a.exchange ?? "");
  w.shortstr(a.routingKey ?? "");
  w.bit(a.mandatory ?? false);
  w.bit(a.immediate ?? false);
  w.frameEnd(start);
}

/** Writes a complete basic.return method frame on `channel`. */
export function encodeBasicReturn(w: Writer, channel: number, a: BasicReturnArgs): void {
  const start = w.frameStart(1, channel);
  w.short(60);
  w.short(50);
  w.short(a.replyCode);
  w.shortstr(a.replyText ?? "");
  w.shortstr(a.exchange);
  w.shortstr(a.routingKey);
  w.frameEnd(start);
}

/** Writes a complete basic.deliver method frame on `channel`. */
export function encodeBasicDeliver(w: Writer, channel: number, a: BasicDeliverArgs): void {
  const start = w.frameStart(1, channel);
  w.short(60);
  w.short(60);
  w.shortstr(a.consumerTag);
  w.longlong(a.deliveryTag);
  w.bit(a.redelivered ?? false);
  w.shortstr(a.exchange);
  w.shortstr(a.routingKey);
  w.frameEnd(start);
}

/** Writes a complete basic.get method frame on `channel`. */
export function encodeBasicGet(w: Writer, channel: number, a: BasicGetArgs): void {
  const start = w.frameStart(1, channel);
  w.short(60);
  w.short(70);
  w.short(a.ticket ?? 0);
  w.shortstr(a.queue ?? "");
  w.bit(a.noAck ?? false);
  w.frameEnd(start);
}

/** Writes a complete basic.get-ok method frame on `channel`. */
export function encodeBasicGetOk(w: Writer, channel: number, a: BasicGetOkArgs): void {
  const start = w.frameStart(1, channel);
  w.short(60);
  w.short(71);
  w.longlong(a.deliveryTag);
  w.bit(a.redelivered ?? false);
  w.shortstr(a.exchange);
  w.shortstr(a.routingKey);
  w.long(a.messageCount);
  w.frameEnd(start);
}

/** Writes a complete basic.get-empty method frame on `channel`. */
export function encodeBasicGetEmpty(w: Writer, channel: number, a: BasicGetEmptyArgs): void {
  const start = w.frameStart(1, channel);
  w.short(60);
  w.short(72);
  w.shortstr(a.clusterId ?? "");
  w.frameEnd(start);
}

/** Writes a complete basic.ack method frame on `channel`. */
export function encodeBasicAck(w: Writer, channel: number, a: BasicAckArgs): void {
  const start = w.frameStart(1, channel);
  w.short(60);
  w.short(80);
  w.longlong(a.deliveryTag ?? 0);
  w.bit(a.multiple ?? false);
  w.frameEnd(start);
}

/** Writes a complete basic.reject method frame on `channel`. */
export function encodeBasicReject(w: Writer, channel: number, a: BasicRejectArgs): void {
  const start = w.frameStart(1, channel);
  w.short(60);
  w.short(90);
  w.longlong(a.deliveryTag);
  w.bit(a.requeue ?? true);
  w.frameEnd(start);
}

/** Writes a complete basic.recover-async method frame on `channel`. */
export function encodeBasicRecoverAsync(w: Writer, channel: number, a: BasicRecoverAsyncArgs): void {
  const start = w.frameStart(1, channel);
  w.short(60);
  w.short(100);
  w.bit(a.requeue ?? false);
  w.frameEnd(start);
}

/** Writes a complete basic.recover method frame on `channel`. */
export function encodeBasicRecover(w: Writer, channel: number, a: BasicRecoverArgs): void {
  const start = w.frameStart(1, channel);
  w.short(60);
  w.short(110);
  w.bit(a.requeue ?? false);
  w.frameEnd(start);
}

/** Writes a complete basic.recover-ok method frame on `channel`. */
export function encodeBasicRecoverOk(w: Writer, channel: number): void {
  const start = w.frameStart(1, channel);
  w.short(60);
  w.short(111);
  w.frameEnd(start);
}

/** Writes a complete basic.nack method frame on `channel`. */
export function encodeBasicNack(w: Writer, channel: number, a: BasicNackArgs): void {
  const start = w.frameStart(1, channel);
  w.short(60);
  w.short(120);
  w.longlong(a.deliveryTag ?? 0);
  w.bit(a.multiple ?? false);
  w.bit(a.requeue ?? true);
  w.frameEnd(start);
}

/** Writes a complete basic.credit method frame on `channel`. */
export function encodeBasicCredit(w: Writer, channel: number, a: BasicCreditArgs): void {
  const start = w.frameStart(1, channel);
  w.short(60);
  w.short(200);
  w.shortstr(a.consumerTag ?? "");
  w.long(a.credit);
  w.bit(a.drain);
  w.frameEnd(start);
}

/** Writes a complete basic.credit-ok method frame on `channel`. */
export function encodeBasicCreditOk(w: Writer, channel: number, a: BasicCreditOkArgs): void {
  const start = w.frameStart(1, channel);
  w.short(60);
  w.short(201);
  w.long(a.available);
  w.frameEnd(start);
}

/** Writes a complete basic.credit-drained method frame on `channel`. */
export function encodeBasicCreditDrained(w: Writer, channel: number, a: BasicCreditDrainedArgs): void {
  const start = w.frameStart(1, channel);
  w.short(60);
  w.short(202);
  w.shortstr(a.consumerTag ?? "");
  w.long(a.creditDrained);
  w.frameEnd(start);
}

/** Writes a complete tx.select method frame on `channel`. */
export function encodeTxSelect(w: Writer, channel: number): void {
  const start = w.frameStart(1, channel);
  w.short(90);
  w.short(10);
  w.frameEnd(start);
}

/** Writes a complete tx.select-ok method frame on `channel`. */
export function encodeTxSelectOk(w: Writer, channel: number): void {
  const start = w.frameStart(1, channel);
  w.short(90);
  w.short(11);
  w.frameEnd(start);
}

/** Writes a complete tx.commit method frame on `channel`. */
export function encodeTxCommit(w: Writer, channel: number): void {
  const start = w.frameStart(1, channel);
  w.short(90);
  w.short(20);
  w.frameEnd(start);
}

/** Writes a complete tx.commit-ok method frame on `channel`. */
export function encodeTxCommitOk(w: Writer, channel: number): void {
  const start = w.frameStart(1, channel);
  w.short(90);
  w.short(21);
  w.frameEnd(start);
}

/** Writes a complete tx.rollback method frame on `channel`. */
export function encodeTxRollback(w: Writer, channel: number): void {
  const start = w.frameStart(1, channel);
  w.short(90);
  w.short(30);
  w.frameEnd(start);
}

/** Writes a complete tx.rollback-ok method frame on `channel`. */
export function encodeTxRollbackOk(w: Writer, channel: number): void {
  const start = w.frameStart(1, channel);
  w.short(90);
  w.short(31);
  w.frameEnd(start);
}

/** Writes a complete confirm.select method frame on `channel`. */
export function encodeConfirmSelect(w: Writer, channel: number, a: ConfirmSelectArgs): void {
  const start = w.frameStart(1, channel);
  w.short(85);
  w.short(10);
  w.bit(a.nowait ?? false);
  w.frameEnd(start);
}

/** Writes a complete confirm.select-ok method frame on `channel`. */
export function encodeConfirmSelectOk(w: Writer, channel: number): void {
  const start = w.frameStart(1, channel);
  w.short(85);
  w.short(11);
  w.frameEnd(start);
}

/** Encodes any method given its decoded form (tests and tools; the broker calls the specific encoders). */
export function encodeMethod(w: Writer, channel: number, m: AnyMethod): void {
  switch (m.id) {
    case 0x000a000a: return encodeConnectionStart(w, channel, m);
    case 0x000a000b: return encodeConnectionStartOk(w, channel, m);
    case 0x000a0014: return encodeConnectionSecure(w, channel, m);
    case 0x000a0015: return encodeConnectionSecureOk(w, channel, m);
    case 0x000a001e: return encodeConnectionTune(w, channel, m);
    case 0x000a001f: return encodeConnectionTuneOk(w, channel, m);
    case 0x000a0028: return encodeConnectionOpen(w, channel, m);
    case 0x000a0029: return encodeConnectionOpenOk(w, channel, m);
    case 0x000a0032: return encodeConnectionClose(w, channel, m);
    case 0x000a0033: return encodeConnectionCloseOk(w, channel);
    case 0x000a003c: return encodeConnectionBlocked(w, channel, m);
    case 0x000a003d: return encodeConnectionUnblocked(w, channel);
    case 0x000a0046: return encodeConnectionUpdateSecret(w, channel, m);
    case 0x000a0047: return encodeConnectionUpdateSecretOk(w, channel);
    case 0x0014000a: return encodeChannelOpen(w, channel, m);
    case 0x0014000b: return encodeChannelOpenOk(w, channel, m);
    case 0x00140014: return encodeChannelFlow(w, channel, m);
    case 0x00140015: return encodeChannelFlowOk(w, channel, m);
    case 0x00140028: return encodeChannelClose(w, channel, m);
    case 0x00140029: return encodeChannelCloseOk(w, channel);
    case 0x001e000a: return encodeAccessRequest(w, channel, m);
    case 0x001e000b: return encodeAccessRequestOk(w, channel, m);
    case 0x0028000a: return encodeExchangeDeclare(w, channel, m);
    case 0x0028000b: return encodeExchangeDeclareOk(w, channel);
    case 0x00280014: return encodeExchangeDelete(w, channel, m);
    case 0x00280015: return encodeExchangeDeleteOk(w, channel);
    case 0x0028001e: return encodeExchangeBind(w, channel, m);
    case 0x0028001f: return encodeExchangeBindOk(w, channel);
    case 0x00280028: return encodeExchangeUnbind(w, channel, m);
    case 0x00280033: return encodeExchangeUnbindOk(w, channel);
    case 0x0032000a: return encodeQueueDeclare(w, channel, m);
    case 0x0032000b: return encodeQueueDeclareOk(w, channel, m);
    case 0x00320014: return encodeQueueBind(w, channel, m);
    case 0x00320015: return encodeQueueBindOk(w, channel);
    case 0x0032001e: return encodeQueuePurge(w, channel, m);
    case 0x0032001f: return encodeQueuePurgeOk(w, channel, m);
    case 0x00320028: return encodeQueueDelete(w, channel, m);
    case 0x00320029: return encodeQueueDeleteOk(w, channel, m);
    case 0x00320032: return encodeQueueUnbind(w, channel, m);
    case 0x00320033: return encodeQueueUnbindOk(w, channel);
    case 0x003c000a: return encodeBasicQos(w, channel, m);
    case 0x003c000b: return encodeBasicQosOk(w, channel);
    case 0x003c0014: return encodeBasicConsume(w, channel, m);
    case 0x003c0015: return encodeBasicConsumeOk(w, channel, m);
    case 0x003c001e: return encodeBasicCancel(w, channel, m);
    case 0x003c001f: return encodeBasicCancelOk(w, channel, m);
    case 0x003c0028: return encodeBasicPublish(w, channel, m);
    case 0x003c0032: return encodeBasicReturn(w, channel, m);
    case 0x003c003c: return encodeBasicDeliver(w, channel, m);
    case 0x003c0046: return encodeBasicGet(w, channel, m);
    case 0x003c0047: return encodeBasicGetOk(w, channel, m);
    case 0x003c0048: return encodeBasicGetEmpty(w, channel, m);
    case 0x003c0050: return encodeBasicAck(w, channel, m);
    case 0x003c005a: return encodeBasicReject(w, channel, m);
    case 0x003c0064: return encodeBasicRecoverAsync(w, channel, m);
    case 0x003c006e: return encodeBasicRecover(w, channel, m);
    case 0x003c006f: return encodeBasicRecoverOk(w, channel);
    case 0x003c0078: return encodeBasicNack(w, channel, m);
    case 0x003c00c8: return encodeBasicCredit(w, channel, m);
    case 0x003c00c9: return encodeBasicCreditOk(w, channel, m);
    case 0x003c00ca: return encodeBasicCreditDrained(w, channel, m);
    case 0x005a000a: return encodeTxSelect(w, channel);
    case 0x005a000b: return encodeTxSelectOk(w, channel);
    case 0x005a0014: return encodeTxCommit(w, channel);
    case 0x005a0015: return encodeTxCommitOk(w, channel);
    case 0x005a001e: return encodeTxRollback(w, channel);
    case 0x005a001f: return encodeTxRollbackOk(w, channel);
    case 0x0055000a: return encodeConfirmSelect(w, channel, m);
    case 0x0055000b: return encodeConfirmSelectOk(w, channel);
  }
}

export interface MethodInfo {
  /** "class.method" as RabbitMQ writes it in error texts. */
  readonly name: string;
  readonly classId: number;
  readonly methodId: number;
  readonly synchronous: boolean;
  /** Followed by a content header and body frames. */
  readonly hasContent: boolean;
  /** The spec lets a client send it to the server (chassis "server"). */
  readonly serverReceives: boolean;
  /** The server may send it to a client (chassis "client"). */
  readonly clientReceives: boolean;
  /** Keys of the methods that answer it, for synchronous methods. */
  readonly responses: readonly number[];
  readonly label: string;
}

export const METHOD_INFO: ReadonlyMap<number, MethodInfo> = new Map([
  [0x000a000a, { name: 'connection.start', classId: 10, methodId: 10, synchronous: true, hasContent: false, serverReceives: false, clientReceives: true, responses: [0x000a000b], label: "start connection negotiation" }],
  [0x000a000b, { name: 'connection.start-ok', classId: 10, methodId: 11, synchronous: true, hasContent: false, serverReceives: true, clientReceives: false, responses: [], label: "select security mechanism and locale" }],
  [0x000a0014, { name: 'connection.secure', classId: 10, methodId: 20, synchronous: true, hasContent: false, serverReceives: false, clientReceives: true, responses: [0x000a0015], label: "security mechanism challenge" }],
  [0x000a0015, { name: 'connection.secure-ok', classId: 10, methodId: 21, synchronous: true, hasContent: false, serverReceives: true, clientReceives: false, responses: [], label: "security mechanism response" }],
  [0x000a001e, { name: 'connection.tune', classId: 10, methodId: 30, synchronous: true, hasContent: false, serverReceives: false, clientReceives: true, responses: [0x000a001f], label: "propose connection tuning parameters" }],
  [0x000a001f, { name: 'connection.tune-ok', classId: 10, methodId: 31, synchronous: true, hasContent: false, serverReceives: true, clientReceives: false, responses: [], label: "negotiate connection tuning parameters" }],
  [0x000a0028, { name: 'connection.open', classId: 10, methodId: 40, synchronous: true, hasContent: false, serverReceives: true, clientReceives: false, responses: [0x000a0029], label: "open connection to virtual host" }],
  [0x000a0029, { name: 'connection.open-ok', classId: 10, methodId: 41, synchronous: true, hasContent: false, serverReceives: false, clientReceives: true, responses: [], label: "signal that connection is ready" }],
  [0x000a0032, { name: 'connection.close', classId: 10, methodId: 50, synchronous: true, hasContent: false, serverReceives: true, clientReceives: true, responses: [0x000a0033], label: "request a connection close" }],
  [0x000a0033, { name: 'connection.close-ok', classId: 10, methodId: 51, synchronous: true, hasContent: false, serverReceives: true, clientReceives: true, responses: [], label: "confirm a connection close" }],
  [0x000a003c, { name: 'connection.blocked', classId: 10, methodId: 60, synchronous: false, hasContent: false, serverReceives: true, clientReceives: true, responses: [], label: "indicate that connection is blocked" }],
  [0x000a003d, { name: 'connection.unblocked', classId: 10, methodId: 61, synchronous: false, hasContent: false, serverReceives: true, clientReceives: true, responses: [], label: "indicate that connection is unblocked" }],
  [0x000a0046, { name: 'connection.update-secret', classId: 10, methodId: 70, synchronous: true, hasContent: false, serverReceives: false, clientReceives: true, responses: [0x000a0047], label: "update secret" }],
  [0x000a0047, { name: 'connection.update-secret-ok', classId: 10, methodId: 71, synchronous: true, hasContent: false, serverReceives: true, clientReceives: false, responses: [], label: "update secret response" }],
  [0x0014000a, { name: 'channel.open', classId: 20, methodId: 10, synchronous: true, hasContent: false, serverReceives: true, clientReceives: false, responses: [0x0014000b], label: "open a channel for use" }],
  [0x0014000b, { name: 'channel.open-ok', classId: 20, methodId: 11, synchronous: true, hasContent: false, serverReceives: false, clientReceives: true, responses: [], label: "signal that the channel is ready" }],
  [0x00140014, { name: 'channel.flow', classId: 20, methodId: 20, synchronous: true, hasContent: false, serverReceives: true, clientReceives: true, responses: [0x00140015], label: "enable/disable flow from peer" }],
  [0x00140015, { name: 'channel.flow-ok', classId: 20, methodId: 21, synchronous: false, hasContent: false, serverReceives: true, clientReceives: true, responses: [], label: "confirm a flow method" }],
  [0x00140028, { name: 'channel.close', classId: 20, methodId: 40, synchronous: true, hasContent: false, serverReceives: true, clientReceives: true, responses: [0x00140029], label: "request a channel close" }],
  [0x00140029, { name: 'channel.close-ok', classId: 20, methodId: 41, synchronous: true, hasContent: false, serverReceives: true, clientReceives: true, responses: [], label: "confirm a channel close" }],
  [0x001e000a, { name: 'access.request', classId: 30, methodId: 10, synchronous: true, hasContent: false, serverReceives: true, clientReceives: false, responses: [0x001e000b], label: "" }],
  [0x001e000b, { name: 'access.request-ok', classId: 30, methodId: 11, synchronous: false, hasContent: false, serverReceives: false, clientReceives: true, responses: [], label: "" }],
  [0x0028000a, { name: 'exchange.declare', classId: 40, methodId: 10, synchronous: true, hasContent: false, serverReceives: true, clientReceives: false, responses: [0x0028000b], label: "verify exchange exists, create if needed" }],
  [0x0028000b, { name: 'exchange.declare-ok', classId: 40, methodId: 11, synchronous: true, hasContent: false, serverReceives: false, clientReceives: true, responses: [], label: "confirm exchange declaration" }],
  [0x00280014, { name: 'exchange.delete', classId: 40, methodId: 20, synchronous: true, hasContent: false, serverReceives: true, clientReceives: false, responses: [0x00280015], label: "delete an exchange" }],
  [0x00280015, { name: 'exchange.delete-ok', classId: 40, methodId: 21, synchronous: true, hasContent: false, serverReceives: false, clientReceives: true, responses: [], label: "confirm deletion of an exchange" }],
  [0x0028001e, { name: 'exchange.bind', classId: 40, methodId: 30, synchronous: true, hasContent: false, serverReceives: true, clientReceives: false, responses: [0x0028001f], label: "bind exchange to an exchange" }],
  [0x0028001f, { name: 'exchange.bind-ok', classId: 40, methodId: 31, synchronous: true, hasContent: false, serverReceives: false, clientReceives: true, responses: [], label: "confirm bind successful" }],
  [0x00280028, { name: 'exchange.unbind', classId: 40, methodId: 40, synchronous: true, hasContent: false, serverReceives: true, clientReceives: false, responses: [0x00280033], label: "unbind an exchange from an exchange" }],
  [0x00280033, { name: 'exchange.unbind-ok', classId: 40, methodId: 51, synchronous: true, hasContent: false, serverReceives: false, clientReceives: true, responses: [], label: "confirm unbind successful" }],
  [0x0032000a, { name: 'queue.declare', classId: 50, methodId: 10, synchronous: true, hasContent: false, serverReceives: true, clientReceives: false, responses: [0x0032000b], label: "declare queue, create if needed" }],
  [0x0032000b, { name: 'queue.declare-ok', classId: 50, methodId: 11, synchronous: true, hasContent: false, serverReceives: false, clientReceives: true, responses: [], label: "confirms a queue definition" }],
  [0x00320014, { name: 'queue.bind', classId: 50, methodId: 20, synchronous: true, hasContent: false, serverReceives: true, clientReceives: false, responses: [0x00320015], label: "bind queue to an exchange" }],
  [0x00320015, { name: 'queue.bind-ok', classId: 50, methodId: 21, synchronous: true, hasContent: false, serverReceives: false, clientReceives: true, responses: [], label: "confirm bind successful" }],
  [0x0032001e, { name: 'queue.purge', classId: 50, methodId: 30, synchronous: true, hasContent: false, serverReceives: true, clientReceives: false, responses: [0x0032001f], label: "purge a queue" }],
  [0x0032001f, { name: 'queue.purge-ok', classId: 50, methodId: 31, synchronous: true, hasContent: false, serverReceives: false, clientReceives: true, responses: [], label: "confirms a queue purge" }],
  [0x00320028, { name: 'queue.delete', classId: 50, methodId: 40, synchronous: true, hasContent: false, serverReceives: true, clientReceives: false, responses: [0x00320029], label: "delete a queue" }],
  [0x00320029, { name: 'queue.delete-ok', classId: 50, methodId: 41, synchronous: true, hasContent: false, serverReceives: false, clientReceives: true, responses: [], label: "confirm deletion of a queue" }],
  [0x00320032, { name: 'queue.unbind', classId: 50, methodId: 50, synchronous: true, hasContent: false, serverReceives: true, clientReceives: false, responses: [0x00320033], label: "unbind a queue from an exchange" }],
  [0x00320033, { name: 'queue.unbind-ok', classId: 50, methodId: 51, synchronous: true, hasContent: false, serverReceives: false, clientReceives: true, responses: [], label: "confirm unbind successful" }],
  [0x003c000a, { name: 'basic.qos', classId: 60, methodId: 10, synchronous: true, hasContent: false, serverReceives: true, clientReceives: false, responses: [0x003c000b], label: "specify quality of service" }],
  [0x003c000b, { name: 'basic.qos-ok', classId: 60, methodId: 11, synchronous: true, hasContent: false, serverReceives: false, clientReceives: true, responses: [], label: "confirm the requested qos" }],
  [0x003c0014, { name: 'basic.consume', classId: 60, methodId: 20, synchronous: true, hasContent: false, serverReceives: true, clientReceives: false, responses: [0x003c0015], label: "start a queue consumer" }],
  [0x003c0015, { name: 'basic.consume-ok', classId: 60, methodId: 21, synchronous: true, hasContent: false, serverReceives: false, clientReceives: true, responses: [], label: "confirm a new consumer" }],
  [0x003c001e, { name: 'basic.cancel', classId: 60, methodId: 30, synchronous: true, hasContent: false, serverReceives: true, clientReceives: true, responses: [0x003c001f], label: "end a queue consumer" }],
  [0x003c001f, { name: 'basic.cancel-ok', classId: 60, methodId: 31, synchronous: true, hasContent: false, serverReceives: true, clientReceives: true, responses: [], label: "confirm a cancelled consumer" }],
  [0x003c0028, { name: 'basic.publish', classId: 60, methodId: 40, synchronous: false, hasContent: true, serverReceives: true, clientReceives: false, responses: [], label: "publish a message" }],
  [0x003c0032, { name: 'basic.return', classId: 60, methodId: 50, synchronous: false, hasContent: true, serverReceives: false, clientReceives: true, responses: [], label: "return a failed message" }],
  [0x003c003c, { name: 'basic.deliver', classId: 60, methodId: 60, synchronous: false, hasContent: true, serverReceives: false, clientReceives: true, responses: [], label: "notify the client of a consumer message" }],
  [0x003c0046, { name: 'basic.get', classId: 60, methodId: 70, synchronous: true, hasContent: false, serverReceives: true, clientReceives: false, responses: [0x003c0047, 0x003c0048], label: "direct access to a queue" }],
  [0x003c0047, { name: 'basic.get-ok', classId: 60, methodId: 71, synchronous: true, hasContent: true, serverReceives: false, clientReceives: true, responses: [], label: "provide client with a message" }],
  [0x003c0048, { name: 'basic.get-empty', classId: 60, methodId: 72, synchronous: true, hasContent: false, serverReceives: false, clientReceives: true, responses: [], label: "indicate no messages available" }],
  [0x003c0050, { name: 'basic.ack', classId: 60, methodId: 80, synchronous: false, hasContent: false, serverReceives: true, clientReceives: true, responses: [], label: "acknowledge one or more messages" }],
  [0x003c005a, { name: 'basic.reject', classId: 60, methodId: 90, synchronous: false, hasContent: false, serverReceives: true, clientReceives: false, responses: [], label: "reject an incoming message" }],
  [0x003c0064, { name: 'basic.recover-async', classId: 60, methodId: 100, synchronous: false, hasContent: false, serverReceives: true, clientReceives: false, responses: [], label: "redeliver unacknowledged messages" }],
  [0x003c006e, { name: 'basic.recover', classId: 60, methodId: 110, synchronous: false, hasContent: false, serverReceives: true, clientReceives: false, responses: [], label: "redeliver unacknowledged messages" }],
  [0x003c006f, { name: 'basic.recover-ok', classId: 60, methodId: 111, synchronous: true, hasContent: false, serverReceives: false, clientReceives: true, responses: [], label: "confirm recovery" }],
  [0x003c0078, { name: 'basic.nack', classId: 60, methodId: 120, synchronous: false, hasContent: false, serverReceives: true, clientReceives: true, responses: [], label: "reject one or more incoming messages" }],
  [0x003c00c8, { name: 'basic.credit', classId: 60, methodId: 200, synchronous: true, hasContent: false, serverReceives: true, clientReceives: false, responses: [0x003c00c9], label: "" }],
  [0x003c00c9, { name: 'basic.credit-ok', classId: 60, methodId: 201, synchronous: false, hasContent: false, serverReceives: false, clientReceives: true, responses: [], label: "" }],
  [0x003c00ca, { name: 'basic.credit-drained', classId: 60, methodId: 202, synchronous: false, hasContent: false, serverReceives: false, clientReceives: true, responses: [], label: "" }],
  [0x005a000a, { name: 'tx.select', classId: 90, methodId: 10, synchronous: true, hasContent: false, serverReceives: true, clientReceives: false, responses: [0x005a000b], label: "select standard transaction mode" }],
  [0x005a000b, { name: 'tx.select-ok', classId: 90, methodId: 11, synchronous: true, hasContent: false, serverReceives: false, clientReceives: true, responses: [], label: "confirm transaction mode" }],
  [0x005a0014, { name: 'tx.commit', classId: 90, methodId: 20, synchronous: true, hasContent: false, serverReceives: true, clientReceives: false, responses: [0x005a0015], label: "commit the current transaction" }],
  [0x005a0015, { name: 'tx.commit-ok', classId: 90, methodId: 21, synchronous: true, hasContent: false, serverReceives: false, clientReceives: true, responses: [], label: "confirm a successful commit" }],
  [0x005a001e, { name: 'tx.rollback', classId: 90, methodId: 30, synchronous: true, hasContent: false, serverReceives: true, clientReceives: false, responses: [0x005a001f], label: "abandon the current transaction" }],
  [0x005a001f, { name: 'tx.rollback-ok', classId: 90, methodId: 31, synchronous: true, hasContent: false, serverReceives: false, clientReceives: true, responses: [], label: "confirm successful rollback" }],
  [0x0055000a, { name: 'confirm.select', classId: 85, methodId: 10, synchronous: true, hasContent: false, serverReceives: true, clientReceives: false, responses: [0x0055000b], label: "" }],
  [0x0055000b, { name: 'confirm.select-ok', classId: 85, methodId: 11, synchronous: true, hasContent: false, serverReceives: false, clientReceives: true, responses: [], label: "" }],
]);

/** "class.method" for a method key, or a numeric description for an unknown one. */
export function methodName(key: number): string {
  return METHOD_INFO.get(key)?.name ?? `unknown method (${key >>> 16}, ${key & 0xffff})`;
}
