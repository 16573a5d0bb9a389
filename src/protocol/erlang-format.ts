/**
 * Renders field values the way RabbitMQ's error texts print them with Erlang's `~p`: binaries as
 * <<"text">>, numbers plainly, booleans as atoms. Used so reply texts match RabbitMQ's byte for byte.
 */
import type { FieldValue } from './field-table.js';

export function erlangTerm(v: FieldValue): string {
  // Tables and arrays are lists of tuples; they are expanded with an explicit stack of what is still to
  // be written (text, or a value), not recursion, since a value may nest tens of thousands deep.
  const out: string[] = [];
  const todo: (string | FieldValue)[] = [v];
  for (let next = todo.pop(); next !== undefined; next = todo.pop()) {
    if (typeof next === 'string') {
      out.push(next);
    } else if (next.type === 'A' || next.type === 'F') {
      const parts: (string | FieldValue)[] = ['['];
      if (next.type === 'A') {
        for (const x of next.value) parts.push(`${parts.length > 1 ? ',' : ''}{${typeAtom(x)},`, x, '}');
      } else {
        for (const [k, x] of next.value) parts.push(`${parts.length > 1 ? ',' : ''}{${erlangBinaryLiteral(Buffer.from(k))},${typeAtom(x)},`, x, '}');
      }
      parts.push(']');
      for (let i = parts.length - 1; i >= 0; i--) todo.push(parts[i]!);
    } else {
      out.push(leafTerm(next));
    }
  }
  return out.join('');
}

function leafTerm(v: Exclude<FieldValue, { type: 'A' | 'F' }>): string {
  switch (v.type) {
    case 'S':
    case 'x': {
      const b = Buffer.from(v.value as string | Buffer);
      return erlangBinaryLiteral(b);
    }
    case 't':
      return v.value ? 'true' : 'false';
    case 'V':
      return 'undefined';
    case 'D':
      return `{${v.value.scale},${v.value.value}}`;
    case 'f':
    case 'd':
      return erlangFloat(v.value);
    default:
      return String(v.value);
  }
}

function typeAtom(v: FieldValue): string {
  const names: Record<string, string> = { t: 'bool', b: 'byte', B: 'unsignedbyte', s: 'short', u: 'unsignedshort', I: 'signedint', i: 'unsignedint', l: 'long', f: 'float', d: 'double', D: 'decimal', S: 'longstr', x: 'binary', A: 'array', T: 'timestamp', F: 'table', V: 'void' };
  return names[v.type]!;
}

function erlangBinaryLiteral(b: Buffer): string {
  let printable = b.length > 0;
  for (const c of b) if (c < 32 || c > 126) printable = false;
  if (b.length === 0) return '<<>>';
  if (printable) return `<<"${b.toString('latin1').replace(/\\/g, '\\\\').replace(/"/g, '\\"')}">>`;
  return `<<${[...b].join(',')}>>`;
}

/** Erlang prints floats with enough digits to round-trip, always with a decimal point. */
function erlangFloat(n: number): string {
  if (Number.isInteger(n)) return `${n}.0`;
  const s = String(n);
  return s.includes('e') ? s.replace(/e([+-])(\d+)/, (_, sign, exp) => `e${sign === '-' ? '-' : '+'}${exp.padStart(2, '0')}`) : s;
}
