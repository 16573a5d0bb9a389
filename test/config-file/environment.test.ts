import { describe, expect, it } from 'vitest';
import { databaseWithDefaults } from '../../src/access/access-database.js';
import { DEFAULT_CONFIG_FILE, chooseConfigFile, defaultAccessFrom, settingsFromEnvironment } from '../../src/config-file/environment.js';
import { parseRabbitConf } from '../../src/config-file/rabbitmq-conf.js';
import firstBoot from './fixtures/first-boot.rabbitmq-3.10.8.json' with { type: 'json' };

describe('settingsFromEnvironment', () => {
  it("reads the container image's variables", () => {
    expect(settingsFromEnvironment({ RABBITMQ_DEFAULT_USER: 'u', RABBITMQ_DEFAULT_PASS: 'p', RABBITMQ_DEFAULT_VHOST: 'v', RABBITMQ_CONFIG_FILE: '/c/rabbitmq.conf' })).toEqual({
      defaultUser: 'u',
      defaultPass: 'p',
      defaultVhost: 'v',
      configFile: '/c/rabbitmq.conf',
    });
  });

  it('treats an empty value as unset, and falls back to the name without RABBITMQ_ (rabbit_env)', () => {
    expect(settingsFromEnvironment({ RABBITMQ_DEFAULT_USER: '', DEFAULT_USER: 'fallback' })).toEqual({ defaultUser: 'fallback' });
    expect(settingsFromEnvironment({ RABBITMQ_DEFAULT_USER: 'prefixed', DEFAULT_USER: 'fallback' })).toEqual({ defaultUser: 'prefixed' });
    expect(settingsFromEnvironment({})).toEqual({});
  });
});

describe('chooseConfigFile', () => {
  it('the flag, then RABBITMQ_CONFIG_FILE, then the default location if it is there', () => {
    expect(chooseConfigFile('/a.conf', { configFile: '/b.conf' })).toEqual({ path: '/a.conf', origin: 'flag', required: true });
    expect(chooseConfigFile(undefined, { configFile: '/b.conf' })).toEqual({ path: '/b.conf', origin: 'environment', required: true });
    expect(chooseConfigFile(undefined, {})).toEqual({ path: DEFAULT_CONFIG_FILE, origin: 'default', required: false });
  });

  it('adds .conf to a path without it, and refuses the classic .config format', () => {
    expect(chooseConfigFile(undefined, { configFile: '/etc/rabbitmq/rabbitmq' }).path).toBe('/etc/rabbitmq/rabbitmq.conf');
    expect(() => chooseConfigFile('/etc/rabbitmq/rabbitmq.config', {})).toThrow(/classic Erlang-term/);
  });
});

describe('defaultAccessFrom: what RabbitMQ 3.10.8 seeded on first boot (recorded)', () => {
  const conf = parseRabbitConf(firstBoot.config).config;
  const env = settingsFromEnvironment(firstBoot.environment);
  const access = defaultAccessFrom(conf, env);

  it('the environment wins over the file for the user; the rest comes from the file', () => {
    expect(access.user).toBe(firstBoot.observed.users[0]!.name);
    expect(access.userTags).toEqual(firstBoot.observed.users[0]!.tags);
    expect(access.vhost).toBe(firstBoot.observed.vhosts[0]);
    expect(access.loopbackUsers).toEqual([]);
  });

  it('default_permissions.read became the write permission and .write the read one, as on RabbitMQ', () => {
    const [configure, write, read] = access.permissions;
    const { configure: c, write: w, read: r } = firstBoot.observed.permissions[0]!;
    expect({ configure, write, read }).toEqual({ configure: c, write: w, read: r });
  });

  it('seeds a database in which the same logins succeed and fail', () => {
    const db = databaseWithDefaults(access);
    const logins = Object.fromEntries(
      Object.keys(firstBoot.observed.logins).map((k) => {
        const [, user, pass, vhost] = /^(.*)\/(.*)@(.*)$/.exec(k)!;
        const auth = db.authenticate(user!, pass!);
        return [k, auth.ok && db.grant(user!, vhost!).permissions !== undefined];
      }),
    );
    expect(logins).toEqual(firstBoot.observed.logins);
  });

  it("without any settings: RabbitMQ's guest/guest on /", () => {
    expect(defaultAccessFrom({}, {})).toEqual({
      user: 'guest',
      password: 'guest',
      vhost: '/',
      userTags: ['administrator'],
      permissions: ['.*', '.*', '.*'],
      loopbackUsers: ['guest'],
    });
  });
});
