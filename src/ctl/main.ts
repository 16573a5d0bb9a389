/**
 * `warren ctl <command> [options]` (also `warrenctl`): rabbitmqctl's most used commands, run
 * against a Warren node's management HTTP API rather than Erlang distribution, with rabbitmqctl's
 * output (banners, tab-separated tables, `--formatter json`, `--quiet`) and exit codes, so that
 * scripts written for rabbitmqctl work against Warren.
 *
 * Where the node is: --host, --port (the management port, 15672), --username, --password, or
 * WARREN_MANAGEMENT_URL (http://user:pass@host:port); flags win. `-n`/`--node` and `--longnames`
 * are accepted and ignored, so that rabbitmqctl command lines run unchanged.
 *
 * The command line is parsed with node:util's parseArgs: it knows long and short options, `--`,
 * and `--opt=value`, which is all rabbitmqctl's syntax needs, and it adds no dependency.
 */
import { parseArgs, type ParseArgsConfig } from 'node:util';
import { adminCommands } from './admin-commands.js';
import { ManagementClient } from './client.js';
import type { Command, CtlContext, CtlIo } from './context.js';
import { CtlError, EXIT, UsageError } from './errors.js';
import { listCommands } from './list-commands.js';
import { nodeCommands } from './node-commands.js';

const COMMANDS: ReadonlyMap<string, Command> = new Map([...listCommands, ...adminCommands, ...nodeCommands].map((c) => [c.name, c]));

/** Options every command takes. */
const GLOBAL_OPTIONS = ['node', 'longnames', 'quiet', 'silent', 'timeout', 'vhost', 'formatter', 'no-table-headers', 'host', 'port', 'username', 'password', 'help'];

const OPTIONS: NonNullable<ParseArgsConfig['options']> = {
  node: { type: 'string', short: 'n' },
  longnames: { type: 'boolean', short: 'l' },
  quiet: { type: 'boolean', short: 'q' },
  silent: { type: 'boolean', short: 's' },
  timeout: { type: 'string', short: 't' },
  vhost: { type: 'string', short: 'p' },
  formatter: { type: 'string' },
  'no-table-headers': { type: 'boolean' },
  host: { type: 'string' },
  port: { type: 'string' },
  username: { type: 'string' },
  password: { type: 'string' },
  help: { type: 'boolean', short: 'h' },
  // The commands' own.
  'if-empty': { type: 'boolean', short: 'e' },
  'if-unused': { type: 'boolean', short: 'u' },
  priority: { type: 'string' },
  'apply-to': { type: 'string' },
  description: { type: 'string' },
  tags: { type: 'string' },
  'default-queue-type': { type: 'string' },
  online: { type: 'boolean' },
  offline: { type: 'boolean' },
  local: { type: 'boolean' },
};

const DEFAULT_URL = 'http://127.0.0.1:15672';

function usageLine(program: string, command?: Command): string {
  if (command === undefined) return `${program} [--host <host>] [--port <port>] [--username <user>] [--password <password>] [--quiet] <command> [<command options>]`;
  return `${program} [--host <host>] [--port <port>] [--quiet] ${command.usage}`;
}

function commandList(): string {
  const width = Math.max(...[...COMMANDS.keys()].map((n) => n.length)) + 3;
  return [...COMMANDS.values()].map((c) => `   ${c.name.padEnd(width)}${c.description}`).join('\n');
}

/** Where the API is: flags over WARREN_MANAGEMENT_URL over http://guest:guest@127.0.0.1:15672. */
function target(values: Record<string, string | boolean | undefined>, env: NodeJS.ProcessEnv, timeoutMs: number) {
  let url: URL;
  try {
    url = new URL(env.WARREN_MANAGEMENT_URL || DEFAULT_URL);
  } catch {
    throw new UsageError(`WARREN_MANAGEMENT_URL is not a URL: ${env.WARREN_MANAGEMENT_URL}`);
  }
  if (typeof values.host === 'string') url.hostname = values.host.includes(':') ? `[${values.host}]` : values.host;
  if (typeof values.port === 'string') {
    if (!/^\d+$/.test(values.port) || Number(values.port) > 65535) throw new UsageError(`--port must be a port number, not ${values.port}`);
    url.port = values.port;
  }
  const username = typeof values.username === 'string' ? values.username : url.username === '' ? 'guest' : decodeURIComponent(url.username);
  const password = typeof values.password === 'string' ? values.password : url.password === '' ? 'guest' : decodeURIComponent(url.password);
  return { baseUrl: `${url.protocol}//${url.host}`, username, password, timeoutMs };
}

function timeoutOf(values: Record<string, unknown>, command: Command): number {
  const t = values.timeout;
  if (t === undefined) return (command.name === 'await_startup' ? 300 : 60) * 1000;
  if (typeof t !== 'string' || !/^\d+(\.\d+)?$/.test(t)) throw new UsageError(`--timeout must be a number of seconds, not ${String(t)}`);
  return Number(t) * 1000;
}

function checkOptions(command: Command, values: Record<string, unknown>, positionals: readonly string[]): void {
  const allowed = new Set([...GLOBAL_OPTIONS, ...(command.options ?? [])]);
  const invalid = Object.keys(values).filter((k) => !allowed.has(k));
  if (invalid.length > 0) throw new UsageError(`Invalid options for this command:\n${invalid.map((k) => `--${k} : ${values[k] === true ? '' : values[k]}`).join('\n')}`);
  const [min, max] = command.args;
  if (positionals.length < min) throw new UsageError('not enough arguments.');
  if (positionals.length > max) throw new UsageError('too many arguments.');
  if (values.formatter !== undefined && values.formatter !== 'json' && values.formatter !== 'table') throw new UsageError(`Formatter ${String(values.formatter)} is not supported (json, table)`);
}

function context(values: Record<string, string | boolean | undefined>, env: NodeJS.ProcessEnv, io: CtlIo, command: Command): CtlContext {
  const timeoutMs = timeoutOf(values, command);
  const json = values.formatter === 'json';
  const quiet = values.quiet === true || values.silent === true || json;
  return {
    client: new ManagementClient(target(values, env, timeoutMs)),
    vhost: typeof values.vhost === 'string' ? values.vhost : '/',
    quiet,
    json,
    noHeaders: values['no-table-headers'] === true,
    timeoutMs,
    flags: values,
    info: (line) => {
      if (!quiet) io.stdout(`${line}\n`);
    },
    out: (text) => io.stdout(text),
    io,
  };
}

/** Runs one command line; resolves to the exit code (nothing here calls process.exit). */
async function runCtl(argv: readonly string[], env: NodeJS.ProcessEnv, io: CtlIo, program = 'warren ctl'): Promise<number> {
  let command: Command | undefined;
  try {
    const parsed = parseOrUsage(argv);
    const [name, ...args] = parsed.positionals;
    if (name === undefined || name === 'help' || parsed.values.help === true) {
      const about = name === 'help' && args[0] !== undefined ? COMMANDS.get(args[0]) : undefined;
      io.stdout(`${usageLine(program, about)}\n${about === undefined ? `\nAvailable commands:\n\n${commandList()}\n` : ''}`);
      return name === undefined && parsed.values.help !== true ? EXIT.usage : EXIT.ok;
    }
    command = COMMANDS.get(name);
    if (command === undefined) {
      io.stderr(`\nCommand '${name}' not found. \n\n${usageLine(program)}\n\nAvailable commands:\n\n${commandList()}\n`);
      return EXIT.usage;
    }
    checkOptions(command, parsed.values, args);
    await command.run(context(parsed.values, env, io, command), args);
    return EXIT.ok;
  } catch (e) {
    if (e instanceof UsageError) {
      io.stderr(`Error (argument validation): ${e.message}\nArguments given:\n\t${argv.join(' ')}\n\n\x1b[1mUsage\x1b[0m\n\n${usageLine(program, command)}\n`);
      return e.exitCode;
    }
    if (e instanceof CtlError) {
      io.stderr(e.inline ? `Error: ${e.message}\n` : `Error:\n${e.message}\n`);
      return e.exitCode;
    }
    throw e;
  }
}

function parseOrUsage(argv: readonly string[]): { values: Record<string, string | boolean | undefined>; positionals: string[] } {
  try {
    // No option is `multiple`, so every value is a string or a boolean.
    const { values, positionals } = parseArgs({ args: [...argv], options: OPTIONS, allowPositionals: true, strict: true });
    return { values: values as Record<string, string | boolean | undefined>, positionals };
  } catch (e) {
    // node:util names the option in its message ("Unknown option '--bogus'").
    throw new UsageError(`Invalid options for this command:\n${(e as Error).message}`);
  }
}

/** The process entry: `warren ctl ...` (src/cli.ts) and bin/warrenctl.js. */
export async function ctlMain(argv: readonly string[], program = 'warren ctl'): Promise<void> {
  const io: CtlIo = {
    stdout: (t) => process.stdout.write(t),
    stderr: (t) => process.stderr.write(t),
    readStdin: async () => {
      const chunks: Buffer[] = [];
      for await (const c of process.stdin) chunks.push(c as Buffer);
      return Buffer.concat(chunks).toString('utf8');
    },
  };
  const code = await runCtl(argv, process.env, io, program);
  // Let stdout drain (a pipe) before exiting with the code.
  process.exitCode = code;
}
