/**
 * rabbitmqctl's two output formats for lists. The table: a header row of the column names, then one
 * row per item, tab-separated, values as the Erlang terms print (true/false, tables as
 * `[{"key",value}]`, tags as `[a, b]`); nothing at all, not even the header, when the list is empty.
 * JSON (`--formatter json`): `[`, one object per line with `,` leading the later ones, `]`, and AMQP
 * tables as lists of `[key, type, value]` triples.
 */

export type Cell = string | number | boolean | null | undefined | readonly unknown[] | { readonly [k: string]: unknown };

/** An AMQP table or a list as rabbitmqctl's table formatter prints the Erlang term. */
function term(v: unknown, nested: boolean): string {
  if (v === null || v === undefined) return nested ? 'undefined' : '';
  if (typeof v === 'string') return nested ? `"${v}"` : v;
  if (typeof v === 'number' || typeof v === 'boolean') return String(v);
  if (Array.isArray(v)) return `[${v.map((x) => term(x, true)).join(',')}]`;
  const entries = Object.entries(v as Record<string, unknown>);
  return `[${entries.map(([k, x]) => `{"${k}",${term(x, true)}}`).join(',')}]`;
}

function cellText(v: Cell): string {
  return term(v, false);
}

/** `[administrator, monitoring]`: how rabbitmqctl prints a user's tags (an Erlang list of atoms). */
export const tagList = (tags: readonly string[]) => `[${tags.join(', ')}]`;

/** The field type rabbitmqctl's JSON shows for an AMQP table value (the API's JSON has lost the wire type). */
function amqpType(v: unknown): string {
  if (typeof v === 'string') return 'longstr';
  if (typeof v === 'boolean') return 'bool';
  if (typeof v === 'number') return Number.isInteger(v) ? 'long' : 'double';
  if (Array.isArray(v)) return 'array';
  if (v === null || v === undefined) return 'void';
  return 'table';
}

/** An AMQP table for the JSON formatter: `[["x-max-length","long",10]]`, nested tables alike. */
export function tableTriples(v: unknown): unknown {
  if (v === null || typeof v !== 'object' || Array.isArray(v)) return v;
  return Object.entries(v as Record<string, unknown>).map(([k, x]) => [k, amqpType(x), x !== null && typeof x === 'object' && !Array.isArray(x) ? tableTriples(x) : x]);
}

export interface ListOutput {
  readonly columns: readonly string[];
  readonly rows: readonly (readonly Cell[])[];
}

/** The table, header row included unless `noHeaders`; empty text for no rows. */
export function formatTable(list: ListOutput, noHeaders: boolean): string {
  if (list.rows.length === 0) return '';
  const lines = noHeaders ? [] : [list.columns.join('\t')];
  for (const row of list.rows) lines.push(row.map(cellText).join('\t'));
  return `${lines.join('\n')}\n`;
}

/** The JSON formatter's list: one object per line. */
export function formatJsonList(list: ListOutput, jsonCells: (column: string, value: Cell) => unknown): string {
  const objects = list.rows.map((row) => JSON.stringify(Object.fromEntries(list.columns.map((c, i) => [c, jsonCells(c, row[i])]))));
  if (objects.length === 0) return '[\n]\n';
  return `[\n${objects.join('\n,')}\n]\n`;
}
