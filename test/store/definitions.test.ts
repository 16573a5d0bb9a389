/**
 * The definitions log (src/store/definitions.ts): replay gives the current durable state, argument
 * tables keep their exact types, the log is compacted at every open, and a torn or corrupt tail is
 * cut off with a warning while every complete record before it is kept.
 */
import { appendFileSync, readFileSync, statSync, truncateSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { DefinitionsLog, type BindingDefinition, type Definitions, type ExchangeDefinition, type QueueDefinition } from '../../src/store/definitions.js';
import { Persister } from '../../src/store/persister.js';
import { fv, table } from '../../src/protocol/field-table.js';
import { captureLog, FaultyIo, silentLog, useTempDirs } from '../helpers/disk-brokers.js';

const tempDir = useTempDirs();

const exchange = (name: string, extra: Partial<ExchangeDefinition> = {}): ExchangeDefinition => ({
  vhost: '/',
  name,
  type: 'topic',
  autoDelete: false,
  internal: false,
  arguments: table(),
  ...extra,
});
const queue = (name: string, extra: Partial<QueueDefinition> = {}): QueueDefinition => ({
  vhost: '/',
  name,
  id: `id-${name}`,
  autoDelete: false,
  arguments: table(),
  ...extra,
});
const binding = (source: string, destination: string, routingKey = '#', destKind: 'queue' | 'exchange' = 'queue'): BindingDefinition => ({
  vhost: '/',
  source,
  destKind,
  destination,
  routingKey,
  arguments: table(),
});

function summary(d: Definitions) {
  return {
    exchanges: [...d.exchanges.values()].map((x) => x.name).sort(),
    queues: [...d.queues.values()].map((q) => q.name).sort(),
    bindings: [...d.bindings.values()].map((b) => `${b.source}->${b.destKind}:${b.destination}/${b.routingKey}`).sort(),
  };
}

function reopen(path: string, log = silentLog) {
  const opened = DefinitionsLog.open(path, undefined, log);
  opened.log.close();
  return opened.state;
}

describe('DefinitionsLog', () => {
  it('replays declarations and deletions into the current state', () => {
    const path = join(tempDir(), 'definitions.log');
    const { log, state } = DefinitionsLog.open(path, undefined, silentLog);
    expect(summary(state)).toEqual({ exchanges: [], queues: [], bindings: [] });
    log.exchangeDeclared(exchange('x1'));
    log.exchangeDeclared(exchange('x2', { type: 'fanout' }));
    log.queueDeclared(queue('q1'));
    log.queueDeclared(queue('q2'));
    log.bound(binding('x1', 'q1', 'a.*'));
    log.bound(binding('x1', 'q1', 'b.*'));
    log.bound(binding('x2', 'q2', ''));
    log.bound(binding('x1', 'x2', 'e2e', 'exchange'));
    log.unbound(binding('x1', 'q1', 'b.*'));
    log.queueDeclared(queue('gone'));
    log.bound(binding('x1', 'gone', 'g'));
    log.queueDeleted('/', 'gone');
    log.close();
    expect(summary(reopen(path))).toEqual({
      exchanges: ['x1', 'x2'],
      queues: ['q1', 'q2'],
      bindings: ['x1->exchange:x2/e2e', 'x1->queue:q1/a.*', 'x2->queue:q2/'],
    });
  });

  it('deleting an exchange takes the bindings from it and to it', () => {
    const path = join(tempDir(), 'definitions.log');
    const { log } = DefinitionsLog.open(path, undefined, silentLog);
    for (const x of ['src', 'mid', 'other']) log.exchangeDeclared(exchange(x));
    log.queueDeclared(queue('q'));
    log.bound(binding('src', 'mid', 'k', 'exchange'));
    log.bound(binding('mid', 'q', 'k'));
    log.bound(binding('other', 'q', 'k'));
    log.exchangeDeleted('/', 'mid');
    log.close();
    expect(summary(reopen(path)).bindings).toEqual(['other->queue:q/k']);
  });

  it('keeps users, vhosts, permissions and policies; deleting a vhost or user is one record that takes what was theirs', () => {
    const path = join(tempDir(), 'definitions.log');
    const { log } = DefinitionsLog.open(path, undefined, silentLog);
    const user = (name: string) => ({ name, passwordHash: 'AAAA', hashingAlgorithm: 'rabbit_password_hashing_sha256', tags: ['t'], limits: {} });
    const vhost = (name: string) => ({ name, description: '', tags: [], limits: { 'max-queues': 3 }, tracing: false });
    const perm = (u: string, v: string) => ({ user: u, vhost: v, configure: '.*', write: '^w', read: '' });
    for (const u of ['ann', 'ben']) log.accessChanged({ t: 'user', def: user(u) });
    for (const v of ['keep', 'gone']) log.accessChanged({ t: 'vhost', def: vhost(v) });
    for (const [u, v] of [['ann', 'keep'], ['ann', 'gone'], ['ben', 'keep']] as const) {
      log.accessChanged({ t: 'permission', def: perm(u, v) });
      log.accessChanged({ t: 'topic-permission', def: { user: u, vhost: v, exchange: 'amq.topic', write: 'a', read: 'b' } });
    }
    for (const v of ['keep', 'gone']) {
      log.accessChanged({ t: 'policy', def: { kind: 'policy', vhost: v, name: 'p', pattern: '.*', applyTo: 'queues', priority: 1, definition: '{"max-length":1}' } });
      log.exchangeDeclared(exchange('x', { vhost: v }));
      log.queueDeclared(queue('q', { vhost: v }));
      log.bound({ ...binding('x', 'q'), vhost: v });
    }
    log.accessChanged({ t: 'access-initialised' });
    log.accessChanged({ t: 'vhost-deleted', name: 'gone' });
    log.accessChanged({ t: 'user-deleted', name: 'ben' });
    log.accessChanged({ t: 'topic-permission-cleared', user: 'ann', vhost: 'keep', exchange: 'amq.topic' });
    log.close();
    // Twice: the second open reads what the first one's compaction wrote.
    for (let i = 0; i < 2; i++) {
      const state = reopen(path);
      expect([...state.users.keys()]).toEqual(['ann']);
      expect([...state.vhosts.values()]).toEqual([vhost('keep')]);
      expect([...state.permissions.values()]).toEqual([perm('ann', 'keep')]);
      expect(state.topicPermissions.size).toBe(0);
      expect([...state.policies.values()].map((p) => p.vhost)).toEqual(['keep']);
      expect([...state.exchanges.values()].map((x) => x.vhost)).toEqual(['keep']);
      expect([...state.queues.values()].map((q) => q.vhost)).toEqual(['keep']);
      expect([...state.bindings.values()].map((b) => b.vhost)).toEqual(['keep']);
      expect(state.accessInitialised).toBe(true);
    }
  });

  it('keeps every argument with its exact AMQP type, and the other fields', () => {
    const path = join(tempDir(), 'definitions.log');
    const args = table([
      ['x-max-length', fv.long(2)],
      ['x-message-ttl', { type: 'I', value: 60000 }],
      ['x-dead-letter-exchange', fv.str('dlx')],
      ['x-single-active-consumer', fv.bool(true)],
      ['nested', fv.table(table([['deep', fv.array([fv.int(1), fv.str('two'), { type: 'd', value: 1.5 }])]]))],
      ['big', fv.long(2n ** 62n)],
      ['bytes', { type: 'x', value: Buffer.from([0, 255, 1]) }],
    ]);
    const { log } = DefinitionsLog.open(path, undefined, silentLog);
    log.exchangeDeclared(exchange('ax', { type: 'headers', autoDelete: true, internal: true, arguments: args, vhost: 'other-vhost' }));
    log.queueDeclared(queue('aq', { arguments: args, autoDelete: true }));
    log.exchangeDeclared(exchange('hx', { type: 'headers' }));
    log.bound({ ...binding('hx', 'aq', ''), arguments: table([['x-match', fv.str('all')], ['n', fv.long(7)]]) });
    log.close();
    const state = reopen(path);
    expect(state.exchanges.get('other-vhost\u0000ax')).toEqual(exchange('ax', { type: 'headers', autoDelete: true, internal: true, arguments: args, vhost: 'other-vhost' }));
    expect(state.queues.get('/\u0000aq')).toEqual(queue('aq', { arguments: args, autoDelete: true }));
    const b = [...state.bindings.values()][0]!;
    expect(b.arguments).toEqual(table([['x-match', fv.str('all')], ['n', fv.long(7)]]));
    // Binding identity includes the arguments: an unbind with other arguments removes nothing.
    const { log: again } = DefinitionsLog.open(path, undefined, silentLog);
    again.unbound({ ...binding('hx', 'aq', ''), arguments: table([['x-match', fv.str('any')], ['n', fv.long(7)]]) });
    again.close();
    expect(reopen(path).bindings.size).toBe(1);
  });

  it('compacts the log at every open to the current state, and stays appendable', () => {
    const path = join(tempDir(), 'definitions.log');
    let { log } = DefinitionsLog.open(path, undefined, silentLog);
    for (let i = 0; i < 200; i++) {
      log.queueDeclared(queue(`temp${i}`));
      log.queueDeleted('/', `temp${i}`);
    }
    log.queueDeclared(queue('keep'));
    log.close();
    const before = statSync(path).size;
    expect(summary(reopen(path)).queues).toEqual(['keep']);
    const after = statSync(path).size;
    expect(after).toBeLessThan(before / 50);
    ({ log } = DefinitionsLog.open(path, undefined, silentLog));
    log.queueDeclared(queue('added'));
    log.close();
    expect(summary(reopen(path)).queues).toEqual(['added', 'keep']);
    expect(summary(reopen(path)).queues).toEqual(['added', 'keep']);
  });

  it('cuts a torn last record (killed mid-write), keeps every complete one, and logs the repair', () => {
    const path = join(tempDir(), 'definitions.log');
    const { log } = DefinitionsLog.open(path, undefined, silentLog);
    log.queueDeclared(queue('q1'));
    log.queueDeclared(queue('q2'));
    log.close();
    const whole = statSync(path).size;
    const { log: l2 } = DefinitionsLog.open(path, undefined, silentLog);
    l2.queueDeclared(queue('torn'));
    l2.close();
    const full = statSync(path).size;
    truncateSync(path, whole + Math.floor((full - whole) / 2));

    const cap = captureLog('warn');
    const state = reopen(path, cap.logger);
    expect(summary(state).queues).toEqual(['q1', 'q2']);
    expect(cap.find('repaired a torn definitions log tail')).toHaveLength(1);
    expect(cap.find('repaired a torn definitions log tail')[0]).toMatchObject({ file: path, dropped: Math.floor((full - whole) / 2) });
    // Repaired for good: the next open finds nothing to repair, and new records are readable.
    const cap2 = captureLog('warn');
    const { log: l3 } = DefinitionsLog.open(path, undefined, cap2.logger);
    l3.queueDeclared(queue('q3'));
    l3.close();
    expect(cap2.lines).toEqual([]);
    expect(summary(reopen(path)).queues).toEqual(['q1', 'q2', 'q3']);
  });

  it('drops a last record whose CRC does not match, a zero-filled tail, and a lone partial header', () => {
    for (const damage of ['crc', 'zeros', 'header'] as const) {
      const path = join(tempDir(), 'definitions.log');
      const { log } = DefinitionsLog.open(path, undefined, silentLog);
      log.exchangeDeclared(exchange('x'));
      log.queueDeclared(queue('q'));
      log.close();
      const size = statSync(path).size;
      if (damage === 'crc') {
        const { log: l2 } = DefinitionsLog.open(path, undefined, silentLog);
        l2.queueDeclared(queue('flipped'));
        l2.close();
        const data = readFileSync(path);
        data[data.length - 3] ^= 0x20;
        writeFileSync(path, data);
      } else if (damage === 'zeros') {
        appendFileSync(path, Buffer.alloc(4096));
      } else {
        appendFileSync(path, Buffer.from([0, 0, 0]));
      }
      const cap = captureLog('warn');
      expect(summary(reopen(path, cap.logger))).toEqual({ exchanges: ['x'], queues: ['q'], bindings: [] });
      expect(cap.find('repaired a torn definitions log tail')).toHaveLength(1);
      expect(statSync(path).size).toBe(size);
    }
  });

  it('asks the persister to sync each change with its next round (durability fsync)', async () => {
    const io = new FaultyIo();
    const persister = new Persister(io, 'fsync', silentLog);
    const path = join(tempDir(), 'definitions.log');
    const { log } = DefinitionsLog.open(path, persister, silentLog);
    log.queueDeclared(queue('q'));
    // In the kernel before the call returns (the declare-ok follows at once): survives kill -9.
    expect(statSync(path).size).toBeGreaterThan(0);
    log.bound(binding('amq.topic', 'q'));
    await persister.idle();
    expect(io.fdatasyncCalls).toBe(1);
    log.close();
    expect(summary(reopen(path))).toEqual({ exchanges: [], queues: ['q'], bindings: ['amq.topic->queue:q/#'] });
  });
});
