/**
 * The cost of permission checks on the publish path (not a test).
 *
 *   npm run bench:build && node node_modules/.cache/warren-bench/bench/access-bench.js
 *
 * What a channel will pay per basic.publish once access control is wired in: authorize() of the
 * basic.publish row with a ChannelAccess whose decisions are cached (the steady state), the same with
 * a topic permission on the exchange and a new routing key every time (the worst case: the regex
 * runs), and an uncached check (a new channel's first publish), against a baseline loop.
 */
import { AccessDatabase } from '../src/access/access-database.js';
import { authorize, type AccessSubject } from '../src/access/method-access.js';
import { ChannelAccess } from '../src/access/permissions.js';

const N = Number(process.env.BENCH_ITERATIONS ?? 2_000_000);

function time(label: string, n: number, body: (i: number) => void): void {
  for (let i = 0; i < 10_000; i++) body(i); // warm up
  const start = process.hrtime.bigint();
  for (let i = 0; i < n; i++) body(i);
  const ns = Number(process.hrtime.bigint() - start) / n;
  console.log(`${label.padEnd(58)} ${ns.toFixed(1).padStart(8)} ns/op`);
}

const db = new AccessDatabase();
db.addVhost({ name: 'v' });
db.addUser({ name: 'app', password: 'p' });
db.setPermissions('app', 'v', '^app\\.', '^(app\\..*|amq\\.default)$', '^app\\.');
db.setTopicPermissions('app', 'v', 'app.events', '^{username}\\.', '.*');
const user = { name: 'app', tags: [] };
const facts = { type: 'direct', internal: false };
const topicFacts = { type: 'topic', internal: false };

const publish: AccessSubject = { exchange: 'app.orders', routingKey: 'k', exchangeFacts: () => facts };
let sink = 0;
time('baseline (loop and a property read)', N, (i) => {
  sink += publish.exchange!.length + i;
});

const access = new ChannelAccess(db.grant('app', 'v'), user);
time('basic.publish, decision cached (steady state)', N, () => authorize(access, 'basic.publish', publish));

const topic: AccessSubject[] = Array.from({ length: 1024 }, (_, i) => ({ exchange: 'app.events', routingKey: `app.event.${i}`, exchangeFacts: () => topicFacts }));
time('basic.publish to a topic exchange, routing key cached', N, () => authorize(access, 'basic.publish', topic[0]!));
time('basic.publish to a topic exchange, 1024 routing keys (regex runs)', N, (i) => authorize(access, 'basic.publish', topic[i & 1023]!));

time('first publish of a new channel (regex runs, nothing cached)', N / 10, () => {
  const fresh = new ChannelAccess(db.grant('app', 'v'), user);
  authorize(fresh, 'basic.publish', publish);
});
if (sink === -1) console.log(sink);
time('ChannelAccess.check alone, cached', N, () => access.check('exchange', 'app.orders', 'write'));
time('ChannelAccess.checkTopic alone, no topic permissions', N, () => access.checkTopic('app.orders', 'k', 'write'));
time('ChannelAccess.checkUserId alone', N, () => access.checkUserId(undefined));
