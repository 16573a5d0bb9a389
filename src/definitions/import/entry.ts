/**
 * Reading the entries of a definitions file: one object at a time, each problem recorded at its
 * path ("queues[3].arguments.x-max-length"), unknown fields reported, and the value shapes several
 * sections share (tags, limits, permission regexes).
 */
import { compilePermissionRegex } from '../../access/access-database.js';
import { erlangTerm } from '../../protocol/erlang-term.js';
import type { FieldTable } from '../../protocol/field-table.js';
import { isJsonInteger, isJsonObject, jsonNumber, type JsonValue } from '../../util/json.js';
import { PcreSyntaxError, PcreUnsupportedError } from '../../util/pcre.js';
import { TableConversionError, jsonToTable } from '../amqp-table-json.js';

/** Records a problem found at `path`. */
export type Issue = (path: string, message: string) => void;

/** Thrown once the problems reach ImportOptions.maxIssues: reading stops there. */
export class TooManyIssues extends Error {}

/** Reads one object of the file, recording problems at their path; reports unknown fields at the end. */
export class Entry {
  private readonly seen = new Set<string>();

  constructor(
    readonly value: { [key: string]: JsonValue },
    readonly path: string,
    private readonly issue: Issue,
  ) {}

  has(k: string): boolean {
    return Object.hasOwn(this.value, k);
  }

  raw(k: string): JsonValue | undefined {
    this.seen.add(k);
    return this.has(k) ? this.value[k] : undefined;
  }

  string(k: string, required: boolean): string | undefined {
    const v = this.raw(k);
    if (v === undefined) {
      if (required) this.issue(`${this.path}.${k}`, 'missing');
      return undefined;
    }
    if (typeof v !== 'string') {
      this.issue(`${this.path}.${k}`, `should be a string, was ${erlangTerm(v)}`);
      return undefined;
    }
    return v;
  }

  boolean(k: string, required: boolean): boolean | undefined {
    const v = this.raw(k);
    if (v === undefined) {
      if (required) this.issue(`${this.path}.${k}`, 'missing');
      return undefined;
    }
    if (typeof v !== 'boolean') {
      this.issue(`${this.path}.${k}`, `should be true or false, was ${erlangTerm(v)}`);
      return undefined;
    }
    return v;
  }

  name(k: string, what: string): string | undefined {
    const v = this.string(k, true);
    if (v !== undefined && Buffer.byteLength(v) > 255) {
      this.issue(`${this.path}.${k}`, `a ${what} name is at most 255 bytes (AMQP shortstr), this one is ${Buffer.byteLength(v)}`);
      return undefined;
    }
    return v;
  }

  /** A field table (the entry's x-arguments): undefined, with the problem recorded, when it is not one. */
  table(k: string): FieldTable | undefined {
    try {
      return jsonToTable(this.raw(k), `${this.path}.${k}`);
    } catch (x) {
      if (!(x instanceof TableConversionError)) throw x;
      this.issue(x.path, x.message);
      return undefined;
    }
  }

  done(): void {
    for (const k of Object.keys(this.value)) if (!this.seen.has(k)) this.issue(`${this.path}.${k}`, 'unknown field');
  }
}

/** A tags field: a list of strings, or one comma-separated string (tag_list_from/1, parse_tags/1). */
export function tagsOf(v: JsonValue, path: string, issue: Issue): string[] | undefined {
  if (typeof v === 'string') return v.split(',').map((t) => t.trim()).filter((t) => t !== '');
  if (Array.isArray(v) && v.every((t): t is string => typeof t === 'string')) return v.map((t) => t.trim());
  issue(path, `should be a list of strings or a comma-separated string, was ${erlangTerm(v)}`);
  return undefined;
}

export function limitsOf(v: JsonValue, allowed: readonly string[], path: string, issue: Issue): Record<string, number> | undefined {
  // Objects as users carry them; [[key, value], ...] as vhosts are exported.
  const pairs: [string, JsonValue][] = Array.isArray(v)
    ? v.map((p) => (Array.isArray(p) && p.length === 2 && typeof p[0] === 'string' ? ([p[0], p[1]!] as [string, JsonValue]) : ['', p as JsonValue]))
    : isJsonObject(v)
      ? Object.entries(v)
      : [];
  if (!Array.isArray(v) && !isJsonObject(v)) {
    issue(path, `should be an object, was ${erlangTerm(v)}`);
    return undefined;
  }
  const out: Record<string, number> = {};
  let ok = true;
  for (const [k, x] of pairs) {
    if (!allowed.includes(k)) {
      issue(`${path}.${k}`, `unknown limit (known: ${allowed.join(', ')})`);
      ok = false;
    } else if (!isJsonInteger(x)) {
      // rabbit_parameter_validation:integer/2
      issue(`${path}.${k}`, `${k} should be a number, actually was ${erlangTerm(x)}`);
      ok = false;
    } else {
      out[k] = jsonNumber(x);
    }
  }
  return ok ? out : undefined;
}

export function regexIssue(source: string): string | undefined {
  try {
    compilePermissionRegex(source);
    return undefined;
  } catch (e) {
    if (e instanceof PcreSyntaxError) return `regular expression '${source}' is invalid: ${e.message} at ${e.offset}`;
    if (e instanceof PcreUnsupportedError) return `regular expression '${source}': ${e.message}`;
    throw e;
  }
}
