/**
 * Users, vhosts and permissions for a test, made the same way on Warren (its AccessDatabase) and on
 * the reference broker (rabbitmqctl), so that access-control tests run against both.
 *
 * Against the reference, WARREN_TEST_REFERENCE_CTL names the rabbitmqctl to run, with its node and
 * cookie, for example
 *
 *   WARREN_TEST_REFERENCE_URL=amqp://guest:guest@127.0.0.1:5704 \
 *   WARREN_TEST_REFERENCE_CTL='/usr/lib/rabbitmq/bin/rabbitmqctl -n rabbit5704@localhost --erlang-cookie COOKIE' \
 *     npx vitest run --project unit test/access/enforcement.test.ts
 *
 * (the script itself, not Debian's /usr/sbin/rabbitmqctl wrapper, which passes its arguments through
 * `sh -c` and changes a regex with a backslash or `$` in it). Without it, tests that need users run
 * only against Warren (`accessTest` skips them on the reference).
 */
import { execFileSync } from 'node:child_process';
import { it } from 'vitest';
import type { BrokerFixture } from './broker.js';
import { REFERENCE_URL } from './broker.js';

const REFERENCE_CTL = process.env.WARREN_TEST_REFERENCE_CTL;

/** `it` for tests that make users and vhosts: they run on the reference only when rabbitmqctl is given. */
export const accessTest = (REFERENCE_URL === undefined || REFERENCE_CTL !== undefined ? it : it.skip) as typeof it;

interface PolicyOptions {
  priority?: number;
  applyTo?: 'queues' | 'exchanges' | 'all';
  operator?: boolean;
}

export interface AccessSetup {
  addVhost(name: string): void;
  deleteVhost(name: string): void;
  addUser(name: string, password: string, tags?: readonly string[]): void;
  deleteUser(name: string): void;
  clearPassword(name: string): void;
  setPermissions(user: string, vhost: string, configure: string, write: string, read: string): void;
  clearPermissions(user: string, vhost: string): void;
  setTopicPermissions(user: string, vhost: string, exchange: string, write: string, read: string): void;
  /** rabbitmqctl set_policy (or set_operator_policy with `operator`). */
  setPolicy(vhost: string, name: string, pattern: string, definition: Record<string, unknown>, options?: PolicyOptions): void;
  clearPolicy(vhost: string, name: string, operator?: boolean): void;
  /** set_vhost_limits / set_user_limits */
  setVhostLimits(vhost: string, limits: { 'max-connections'?: number; 'max-queues'?: number }): void;
  setUserLimits(user: string, limits: { 'max-connections'?: number; 'max-channels'?: number }): void;
  /** add_vhost --default-queue-type */
  addVhostWithDefaultQueueType(name: string, type: 'classic' | 'quorum'): void;
  /** amqp URL of the broker for this user and vhost. */
  url(user: string, password: string, vhost: string): string;
}

export function accessSetup(fx: BrokerFixture): AccessSetup {
  const url = (user: string, password: string, vhost: string) => {
    const u = new URL(fx.url);
    u.username = encodeURIComponent(user);
    u.password = encodeURIComponent(password);
    u.pathname = `/${encodeURIComponent(vhost)}`;
    return u.toString();
  };
  if (REFERENCE_URL !== undefined) {
    const [command, ...base] = (REFERENCE_CTL ?? 'rabbitmqctl').split(' ').filter((w) => w !== '');
    const ctl = (...args: string[]) => {
      execFileSync(command!, [...base, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    };
    const quietly = (...args: string[]) => {
      try {
        ctl(...args);
      } catch {
        // deleting what is not there
      }
    };
    return {
      addVhost: (name) => {
        quietly('delete_vhost', name);
        ctl('add_vhost', name);
      },
      deleteVhost: (name) => ctl('delete_vhost', name),
      addUser: (name, password, tags = []) => {
        quietly('delete_user', name);
        ctl('add_user', name, password);
        if (tags.length > 0) ctl('set_user_tags', name, ...tags);
      },
      deleteUser: (name) => ctl('delete_user', name),
      clearPassword: (name) => ctl('clear_password', name),
      setPermissions: (user, vhost, c, w, r) => ctl('set_permissions', '-p', vhost, user, c, w, r),
      clearPermissions: (user, vhost) => ctl('clear_permissions', '-p', vhost, user),
      setTopicPermissions: (user, vhost, x, w, r) => ctl('set_topic_permissions', '-p', vhost, user, x, w, r),
      setPolicy: (vhost, name, pattern, definition, o = {}) =>
        ctl(o.operator ? 'set_operator_policy' : 'set_policy', '-p', vhost, '--priority', String(o.priority ?? 0), '--apply-to', o.applyTo ?? 'all', name, pattern, JSON.stringify(definition)),
      clearPolicy: (vhost, name, operator = false) => ctl(operator ? 'clear_operator_policy' : 'clear_policy', '-p', vhost, name),
      setVhostLimits: (vhost, limits) => ctl('set_vhost_limits', '-p', vhost, JSON.stringify(limits)),
      setUserLimits: (user, limits) => ctl('set_user_limits', user, JSON.stringify(limits)),
      addVhostWithDefaultQueueType: (name, type) => {
        quietly('delete_vhost', name);
        ctl('add_vhost', name, '--default-queue-type', type);
      },
      url,
    };
  }
  const db = () => fx.broker.broker.access;
  return {
    addVhost: (name) => void db().addVhost({ name }),
    deleteVhost: (name) => db().deleteVhost(name),
    addUser: (name, password, tags = []) => void db().addUser({ name, password, tags }),
    deleteUser: (name) => db().deleteUser(name),
    clearPassword: (name) => db().clearPassword(name),
    setPermissions: (user, vhost, c, w, r) => db().setPermissions(user, vhost, c, w, r),
    clearPermissions: (user, vhost) => db().clearPermissions(user, vhost),
    setTopicPermissions: (user, vhost, x, w, r) => db().setTopicPermissions(user, vhost, x, w, r),
    setPolicy: (vhost, name, pattern, definition, o = {}) =>
      void fx.broker.broker.setPolicy(vhost, name, { pattern, definition: definition as never, priority: o.priority ?? 0, 'apply-to': o.applyTo ?? 'all' }, o.operator ? 'operator_policy' : 'policy'),
    clearPolicy: (vhost, name, operator = false) => void fx.broker.broker.clearPolicy(vhost, name, operator ? 'operator_policy' : 'policy'),
    setVhostLimits: (vhost, limits) => db().setVhostLimits(vhost, limits),
    setUserLimits: (user, limits) => db().setUserLimits(user, limits),
    addVhostWithDefaultQueueType: (name, type) => void db().addVhost({ name, defaultQueueType: type }),
    url,
  };
}
