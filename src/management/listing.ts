/**
 * What every list endpoint shares (rabbit_mgmt_util:filter_and_paginate, sort_list, columns):
 * `sort` and `sort_reverse` over a dotted key, `columns` keeping only the named (dotted) fields,
 * and pagination with `page`, `page_size` (at most 500), `name` and `use_regex`, answered as
 * RabbitMQ's {filtered_count, item_count, items, page, page_count, page_size, total_count}.
 * Without `page` the whole list is returned and `name` is not applied, as RabbitMQ does.
 */
import { compilePermissionRegex } from '../access/access-database.js';
import type { JsonValue } from '../util/json.js';
import { HttpError, badRequest } from './http-errors.js';
import type { JsonObject } from './request-body.js';

export type Query = Readonly<Record<string, string | string[] | undefined>>;

const MAX_PAGE_SIZE = 500;
const DEFAULT_PAGE_SIZE = 100;

function param(q: Query, key: string): string | undefined {
  const v = q[key];
  return Array.isArray(v) ? v[v.length - 1] : v;
}

function at(o: JsonValue | undefined, path: readonly string[]): JsonValue | undefined {
  let v = o;
  for (const k of path) {
    if (v === null || typeof v !== 'object' || Array.isArray(v) || !Object.hasOwn(v, k)) return undefined;
    v = (v as JsonObject)[k];
  }
  return v;
}

/** Erlang's term order for what sort keys hold: numbers before atoms before strings... simplified to numbers, then text. */
function compare(a: JsonValue | undefined, b: JsonValue | undefined): number {
  const an = typeof a === 'number' || typeof a === 'bigint';
  const bn = typeof b === 'number' || typeof b === 'bigint';
  if (an && bn) return Number(a) - Number(b);
  if (an !== bn) return an ? -1 : 1;
  const as = a === undefined || a === null ? '' : String(a);
  const bs = b === undefined || b === null ? '' : String(b);
  return as < bs ? -1 : as > bs ? 1 : 0;
}

function sortItems(items: JsonObject[], q: Query, defaultKeys: readonly string[]): JsonObject[] {
  const sort = param(q, 'sort');
  const keys = sort === undefined || sort === '' ? defaultKeys : [sort];
  const paths = keys.map((k) => k.split('.'));
  const sorted = items.slice().sort((x, y) => {
    for (const p of paths) {
      const c = compare(at(x, p), at(y, p));
      if (c !== 0) return c;
    }
    return 0;
  });
  return param(q, 'sort_reverse') === 'true' ? sorted.reverse() : sorted;
}

/** `columns=name,message_stats.publish`: only those fields, nested ones kept in their objects. */
function pickColumns(item: JsonObject, columns: readonly (readonly string[])[]): JsonObject {
  const out: JsonObject = {};
  for (const path of columns) {
    const v = at(item, path);
    if (v === undefined) continue;
    let o = out;
    for (const k of path.slice(0, -1)) {
      const next = o[k];
      if (next === undefined || next === null || typeof next !== 'object' || Array.isArray(next)) o[k] = {};
      o = o[k] as JsonObject;
    }
    o[path[path.length - 1]!] = v;
  }
  return out;
}

function pageParams(q: Query): { page: number; pageSize: number } | undefined {
  const pageText = param(q, 'page');
  if (pageText === undefined) return undefined;
  const sizeText = param(q, 'page_size');
  const page = Number(pageText);
  const pageSize = sizeText === undefined ? DEFAULT_PAGE_SIZE : Number(sizeText);
  if (!/^-?\d+$/.test(pageText) || (sizeText !== undefined && !/^-?\d+$/.test(sizeText))) throw badRequest('Pagination parameters are invalid');
  if (page < 1 || pageSize < 1 || pageSize > MAX_PAGE_SIZE) {
    throw new HttpError(400, 'invalid_pagination_parameters', `Invalid pagination parameters: page number ${page}, page size ${sizeText ?? 'undefined'}`);
  }
  return { page, pageSize };
}

function nameFilter(q: Query): ((name: string) => boolean) | undefined {
  const name = param(q, 'name');
  if (name === undefined || name === '') return undefined;
  if (param(q, 'use_regex') !== 'true') return (n) => n.includes(name);
  let re: { test(s: string): boolean };
  try {
    re = compilePermissionRegex(name);
  } catch {
    throw badRequest(`invalid regular expression '${name}'`);
  }
  return (n) => re.test(n);
}

/**
 * The answer of a list endpoint. `items` are the full objects; the parameters are checked before
 * any work, so a bad one costs nothing.
 */
export function listing(items: JsonObject[], q: Query, defaultSort: readonly string[] = ['vhost', 'name']): JsonValue {
  const paging = pageParams(q);
  const columnsText = param(q, 'columns');
  const columns = columnsText === undefined || columnsText === '' ? undefined : columnsText.split(',').map((c) => c.split('.'));
  let selected = items;
  const filter = paging === undefined ? undefined : nameFilter(q);
  if (filter !== undefined) selected = selected.filter((i) => typeof i.name === 'string' && filter(i.name));
  selected = sortItems(selected, q, defaultSort);
  const shape = (list: JsonObject[]) => (columns === undefined ? list : list.map((i) => pickColumns(i, columns)));
  if (paging === undefined) return shape(selected);
  const { page, pageSize } = paging;
  const pageCount = Math.ceil(selected.length / pageSize);
  if (page > Math.max(pageCount, 1)) {
    throw new HttpError(400, 'invalid_pagination_parameters', `Invalid pagination parameters: page number ${page}, page size ${pageSize}`);
  }
  const slice = selected.slice((page - 1) * pageSize, page * pageSize);
  return {
    filtered_count: selected.length,
    item_count: slice.length,
    items: shape(slice),
    page,
    page_count: pageCount,
    page_size: pageSize,
    total_count: items.length,
  };
}
