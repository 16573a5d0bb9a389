/** What a `warren ctl` command runs with, and how a command is declared. */
import type { ManagementClient } from './client.js';

export interface CtlIo {
  readonly stdout: (text: string) => void;
  readonly stderr: (text: string) => void;
  /** The whole of stdin (import_definitions -). */
  readonly readStdin: () => Promise<string>;
}

export interface CtlContext {
  readonly client: ManagementClient;
  /** --vhost / -p, default "/". */
  readonly vhost: string;
  /** --quiet / -q / --silent: no banner lines. */
  readonly quiet: boolean;
  /** --formatter json. */
  readonly json: boolean;
  /** --no-table-headers. */
  readonly noHeaders: boolean;
  /** --timeout / -t, in ms. */
  readonly timeoutMs: number;
  /** Every option given, for the commands that take their own (--if-empty, --priority, ...). */
  readonly flags: Readonly<Record<string, string | boolean | undefined>>;
  /** A banner line ("Listing queues for vhost / ..."): printed unless quiet or JSON. */
  info(line: string): void;
  /** Output proper. */
  out(text: string): void;
  readonly io: CtlIo;
}

export interface Command {
  readonly name: string;
  /** The arguments and options after the command name, as rabbitmqctl's usage shows them. */
  readonly usage: string;
  readonly description: string;
  /** Fewest and most positional arguments (Infinity: any number). */
  readonly args: readonly [number, number];
  /** The command's own options besides the global ones. */
  readonly options?: readonly string[];
  readonly run: (ctx: CtlContext, args: readonly string[]) => Promise<void>;
}
