/**
 * The scenarios of issue 7, as data: what each one sets up and which figures it reports. How they
 * run is in runner.ts.
 */

export type ScenarioKind = 'throughput' | 'latency' | 'connections' | 'backlog' | 'startup' | 'stream';
export type ExchangeKind = 'default' | 'fanout' | 'topic';

export interface Params {
  /** Body size in bytes. */
  size: number;
  publishers: number;
  consumers: number;
  queues: number;
  /** basic.qos prefetch-count per consumer; 0: none. */
  prefetch: number;
  noAck: boolean;
  /** delivery-mode 2 into durable queues. */
  persistent: boolean;
  /** Outstanding unconfirmed publishes per publisher; 0: no confirms. */
  confirmWindow: number;
  exchange: ExchangeKind;
  /** Topic bindings in all (spread over the queues). */
  bindings: number;
  /** Messages per second per publisher; 0: as fast as backpressure allows. */
  rate: number;
  /** backlog: messages to queue; connections: connections to open. */
  count: number;
}

export interface Scenario {
  name: string;
  kind: ScenarioKind;
  title: string;
  params: Params;
  /** Also measured against the null sink (the generator's ceiling). */
  ceiling: boolean;
  /** Rounds are capped at this (the long scenarios). */
  maxRounds?: number;
  /** Start the brokers afresh for every round (memory deltas must not see earlier rounds' heap). */
  freshBrokerEachRound?: boolean;
  /** kind 'stream': what the round does with its stream (stream-rounds.ts); params.count messages of params.size. */
  stream?: StreamPlan;
}

/**
 * A stream round (x-queue-type stream, issue 15), driven through amqplib as every stream benchmark is:
 *  - publish: count messages with confirms (window params.confirmWindow), no consumer;
 *  - tail: params.consumers readers at "next" while count messages are published with confirms;
 *  - replay: count messages published first, then params.consumers readers from "first" at once;
 *  - memory: count messages published with confirms, then params.consumers readers from "first":
 *    the broker's peak memory while filling and while reading.
 */
export interface StreamPlan {
  mode: 'publish' | 'tail' | 'replay' | 'memory';
}

const base: Params = {
  size: 16,
  publishers: 1,
  consumers: 1,
  queues: 1,
  prefetch: 0,
  noAck: true,
  persistent: false,
  confirmWindow: 0,
  exchange: 'default',
  bindings: 0,
  rate: 0,
  count: 0,
};

const p = (over: Partial<Params>): Params => ({ ...base, ...over });

export const SCENARIOS: readonly Scenario[] = [
  { name: 'transient-16b', kind: 'throughput', title: 'transient 16 B, 1 publisher -> 1 queue -> 1 consumer, no-ack', params: p({ size: 16 }), ceiling: true },
  { name: 'transient-1k', kind: 'throughput', title: 'transient 1 KiB, 1 -> 1, no-ack', params: p({ size: 1024 }), ceiling: true },
  { name: 'transient-64k', kind: 'throughput', title: 'transient 64 KiB, 1 -> 1, no-ack', params: p({ size: 65536 }), ceiling: true },
  { name: 'acked-p100', kind: 'throughput', title: 'manual acks, prefetch 100, 16 B, 1 -> 1 (ack multiple per read)', params: p({ noAck: false, prefetch: 100 }), ceiling: true },
  { name: 'acked-p1000', kind: 'throughput', title: 'manual acks, prefetch 1000, 16 B, 1 -> 1 (ack multiple per read)', params: p({ noAck: false, prefetch: 1000 }), ceiling: true },
  {
    name: 'persistent-confirm',
    kind: 'throughput',
    title: 'persistent 16 B (delivery-mode 2) into a durable queue, publisher confirms, window 256, no consumer',
    params: p({ persistent: true, confirmWindow: 256, consumers: 0 }),
    ceiling: true,
  },
  { name: 'fanout-10', kind: 'throughput', title: 'fanout exchange to 10 queues, 16 B, 1 publisher, 1 consumer per queue, no-ack', params: p({ exchange: 'fanout', queues: 10, consumers: 10 }), ceiling: true },
  {
    name: 'topic-1000',
    kind: 'throughput',
    title: 'topic exchange with 1,000 bindings (exact, * and #) over 10 queues, 16 B, 1 publisher, 10 consumers, no-ack',
    params: p({ exchange: 'topic', queues: 10, consumers: 10, bindings: 1000 }),
    ceiling: true,
  },
  { name: 'latency-1k', kind: 'latency', title: 'end-to-end latency at 1,000 msg/s, 16 B, 1 -> 1, no-ack', params: p({ rate: 1000 }), ceiling: true },
  { name: 'latency-10k', kind: 'latency', title: 'end-to-end latency at 10,000 msg/s, 16 B, 1 -> 1, no-ack', params: p({ rate: 10_000 }), ceiling: true },
  { name: 'connections-1000', kind: 'connections', title: '1,000 connections, each with a channel and a consumer on one queue', params: p({ count: 1000, publishers: 0, consumers: 1000 }), ceiling: false, freshBrokerEachRound: true },
  {
    name: 'backlog-1m',
    kind: 'backlog',
    title: 'backlog of 1,000,000 transient 1 KiB messages in one queue: memory, then drain with 1 no-ack consumer',
    params: p({ size: 1024, count: 1_000_000 }),
    ceiling: false,
    maxRounds: 1,
  },
  ...streamScenarios(),
  { name: 'startup', kind: 'startup', title: 'cold start (spawn -> connection.start on a new connection), then idle memory', params: p({ publishers: 0, consumers: 0, queues: 0 }), ceiling: false },
];

function streamScenarios(): Scenario[] {
  const stream = (over: Partial<Params>) => p({ persistent: true, confirmWindow: 256, noAck: false, prefetch: 1000, ...over });
  return [
    { name: 'stream-publish-16b', kind: 'stream', title: 'stream: 300,000 x 16 B published with confirms (window 256), no consumer', params: stream({ consumers: 0, count: 300_000 }), ceiling: false, stream: { mode: 'publish' } },
    { name: 'stream-publish-1k', kind: 'stream', title: 'stream: 200,000 x 1 KiB published with confirms (window 256), no consumer', params: stream({ size: 1024, consumers: 0, count: 200_000 }), ceiling: false, stream: { mode: 'publish' } },
    { name: 'stream-tail', kind: 'stream', title: 'stream: 1 consumer at "next" (prefetch 1000) while 300,000 x 16 B are published with confirms', params: stream({ count: 300_000 }), ceiling: false, stream: { mode: 'tail' } },
    { name: 'stream-replay-10', kind: 'stream', title: 'stream: 10 consumers from "first" at once over 200,000 x 1 KiB (prefetch 1000 each)', params: stream({ size: 1024, consumers: 10, count: 200_000 }), ceiling: false, stream: { mode: 'replay' } },
    {
      name: 'stream-memory',
      kind: 'stream',
      title: 'stream: 1,000,000 x 1 KiB (about 1 GiB) published with confirms, then 1 consumer from "first": peak memory filling and reading',
      params: stream({ size: 1024, consumers: 1, count: 1_000_000 }),
      ceiling: false,
      maxRounds: 1,
      freshBrokerEachRound: true,
      stream: { mode: 'memory' },
    },
  ];
}

/** Names, or prefixes ending in '-' or '*' ("transient-*", "acked"), to scenarios, in the table's order. */
export function selectScenarios(spec: string | undefined): Scenario[] {
  if (spec === undefined || spec === '' || spec === 'all') return [...SCENARIOS];
  const wanted = spec.split(',').map((s) => s.trim()).filter((s) => s !== '');
  const matches = (w: string, name: string) => name === w || (w.endsWith('*') ? name.startsWith(w.slice(0, -1)) : name.startsWith(`${w}-`));
  const unknown = wanted.filter((w) => !SCENARIOS.some((s) => matches(w, s.name)));
  if (unknown.length > 0) throw new Error(`unknown scenario ${unknown.join(', ')} (see --list)`);
  return SCENARIOS.filter((s) => wanted.some((w) => matches(w, s.name)));
}

export function describeParams(s: Scenario): string {
  const q = s.params;
  switch (s.kind) {
    case 'throughput':
    case 'latency':
      return [
        `size ${q.size} B`,
        `${q.publishers} pub`,
        `${q.consumers} con`,
        `${q.queues} queue${q.queues === 1 ? '' : 's'}`,
        q.exchange === 'default' ? 'default exchange' : `${q.exchange} exchange${q.bindings ? ` (${q.bindings} bindings)` : ''}`,
        q.noAck ? 'no-ack' : `manual ack, prefetch ${q.prefetch}`,
        q.persistent ? 'persistent, durable queue' : 'transient',
        ...(q.confirmWindow ? [`confirms, window ${q.confirmWindow}`] : []),
        ...(q.rate ? [`${q.rate} msg/s per publisher`] : []),
      ].join(', ');
    case 'connections':
      return `${q.count} connections`;
    case 'backlog':
      return `${q.count} x ${q.size} B`;
    case 'startup':
      return '';
    case 'stream':
      return `${s.stream?.mode}: ${q.count} x ${q.size} B, ${q.consumers} consumer${q.consumers === 1 ? '' : 's'}, confirms window ${q.confirmWindow}, prefetch ${q.prefetch}`;
  }
}
