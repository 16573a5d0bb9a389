/**
 * The environment variables RabbitMQ reads for what Warren supports (rabbit_env in rabbit_common,
 * 3.10.8), which its official container image documents: RABBITMQ_DEFAULT_USER,
 * RABBITMQ_DEFAULT_PASS, RABBITMQ_DEFAULT_VHOST and RABBITMQ_CONFIG_FILE.
 *
 * As rabbit_env:get_prefixed_env_var/1 does, each is also looked up without its RABBITMQ_ prefix
 * (the name rabbitmq-env.conf uses), and an empty value counts as unset. The default user, password
 * and vhost from the environment win over those of the configuration file
 * (rabbit:get_default_data_param/1).
 */
import { RABBITMQ_DEFAULT_ACCESS, type DefaultAccess } from '../access/access-database.js';
import type { RabbitConf } from './rabbitmq-conf.js';

export interface EnvironmentSettings {
  readonly defaultUser?: string;
  readonly defaultPass?: string;
  readonly defaultVhost?: string;
  /** RABBITMQ_CONFIG_FILE, as given. */
  readonly configFile?: string;
}

function prefixed(env: NodeJS.ProcessEnv, name: `RABBITMQ_${string}`): string | undefined {
  for (const n of [name, name.slice('RABBITMQ_'.length)]) {
    const v = env[n];
    if (v !== undefined && v !== '') return v;
  }
  return undefined;
}

export function settingsFromEnvironment(env: NodeJS.ProcessEnv): EnvironmentSettings {
  const out: { -readonly [K in keyof EnvironmentSettings]: EnvironmentSettings[K] } = {};
  const user = prefixed(env, 'RABBITMQ_DEFAULT_USER');
  const pass = prefixed(env, 'RABBITMQ_DEFAULT_PASS');
  const vhost = prefixed(env, 'RABBITMQ_DEFAULT_VHOST');
  const config = prefixed(env, 'RABBITMQ_CONFIG_FILE');
  if (user !== undefined) out.defaultUser = user;
  if (pass !== undefined) out.defaultPass = pass;
  if (vhost !== undefined) out.defaultVhost = vhost;
  if (config !== undefined) out.configFile = config;
  return out;
}

/** Where RabbitMQ looks without RABBITMQ_CONFIG_FILE, on Linux packages and the container image. */
export const DEFAULT_CONFIG_FILE = '/etc/rabbitmq/rabbitmq.conf';

export type ConfigFileChoice =
  | { readonly path: string; readonly origin: 'flag' | 'environment'; readonly required: true }
  | { readonly path: string; readonly origin: 'default'; readonly required: false };

/**
 * Which rabbitmq.conf to read: the command-line flag, else RABBITMQ_CONFIG_FILE, else the default
 * location if it exists (`required: false`). RabbitMQ accepts a path without extension and adds
 * ".conf" (or ".config" for its classic Erlang-term format, which Warren does not read).
 */
export function chooseConfigFile(flag: string | undefined, env: EnvironmentSettings): ConfigFileChoice {
  const withExtension = (p: string) => {
    if (p.endsWith('.config')) throw new Error(`${p}: the classic Erlang-term rabbitmq.config format is not supported; use rabbitmq.conf`);
    return /\.conf$/.test(p) ? p : `${p}.conf`;
  };
  if (flag !== undefined) return { path: withExtension(flag), origin: 'flag', required: true };
  if (env.configFile !== undefined) return { path: withExtension(env.configFile), origin: 'environment', required: true };
  return { path: DEFAULT_CONFIG_FILE, origin: 'default', required: false };
}

/**
 * The user, vhost and permissions RabbitMQ seeds on first boot (rabbit:insert_default_data/0) from
 * the file and the environment. RabbitMQ seeds nothing when definitions are configured to load
 * (load_definitions): the caller checks that.
 *
 * RabbitMQ 3.10.8 applies default_permissions.read as the write permission and .write as the read
 * permission (the schema's translation lists [configure, read, write], insert_default_data/0 reads
 * [configure, write, read]); recorded on a 3.10.8 node, see test/config-file. Warren does the same,
 * so that a configuration means on Warren what it means on RabbitMQ.
 */
export function defaultAccessFrom(conf: RabbitConf, env: EnvironmentSettings): DefaultAccess {
  const d = RABBITMQ_DEFAULT_ACCESS;
  const p = conf.defaultPermissions ?? {};
  const [configure, write, read] = d.permissions;
  return {
    user: env.defaultUser ?? conf.defaultUser ?? d.user,
    password: env.defaultPass ?? conf.defaultPass ?? d.password,
    vhost: env.defaultVhost ?? conf.defaultVhost ?? d.vhost,
    userTags: conf.defaultUserTags ?? d.userTags,
    permissions: [p.configure ?? configure, p.read ?? write, p.write ?? read],
    loopbackUsers: conf.loopbackUsers ?? d.loopbackUsers,
  };
}
