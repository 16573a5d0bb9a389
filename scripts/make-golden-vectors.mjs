#!/usr/bin/env node
// Writes test/codec/golden-vectors.json: reference bytes for every AMQP method and every basic
// property flag, produced by amqplib's encoder (amqplib/lib/defs.js), which was generated from the
// same spec by a different program in a different project. Warren's codec must produce and read
// exactly these bytes (test/codec/golden-vectors.test.ts).
//
//   node scripts/make-golden-vectors.mjs          write the file
//   node scripts/make-golden-vectors.mjs --check  exit 1 if the committed file differs
//
// The sample arguments are built deterministically from spec/amqp-rabbitmq-0.9.1.json (not from
// Warren's generated code, so a generator mistake cannot hide in both): numbers at both edges of
// their domain, bits in several patterns (none, all, alternating both ways, each one alone), short
// strings up to 255 bytes of multibyte UTF-8, long strings with every byte value, and field tables
// holding every RabbitMQ field type, nested.
//
// In the JSON, values that JSON cannot carry are wrapped: {"$hex": "..."} for bytes,
// {"$bigint": "..."} for 64-bit integers beyond 2^53, {"$float": "NaN" | "Infinity" | "-Infinity" |
// "-0"} for those doubles, {"$table": [[key, {type, value}], ...]} for a field table (entries in
// order). Field values are {type: tag, value}, with the RabbitMQ/Qpid tags.
//
// The test imports this module to re-encode every vector with amqplib, so that an amqplib upgrade
// that changes its output is noticed rather than silently trusted.
import { readFileSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
export const VECTORS_PATH = join(root, 'test/codec/golden-vectors.json');

// amqplib's package "exports" hide lib/defs.js, so it is loaded by file path.
const require = createRequire(import.meta.url);
const amqplibDir = dirname(require.resolve('amqplib'));
export const AMQPLIB_VERSION = JSON.parse(readFileSync(join(amqplibDir, 'package.json'), 'utf8')).version;
/** @type {{ encodeMethod(id: number, channel: number, fields: object): Buffer, encodeProperties(id: number, channel: number, size: number, fields: object): Buffer }} */
export const defs = require(join(amqplibDir, 'lib/defs.js'));

// ---------------------------------------------------------------------------------------------
// The spec

const camel = (s) => s.replace(/-([a-z0-9])/g, (_, c) => c.toUpperCase());

/** Methods and basic properties from the JSON spec, argument types resolved through domains. */
export function loadSpec(specPath = join(root, 'spec/amqp-rabbitmq-0.9.1.json')) {
  const json = JSON.parse(readFileSync(specPath, 'utf8'));
  const domains = new Map(json.domains);
  const methods = [];
  let properties = [];
  for (const c of json.classes) {
    for (const m of c.methods) {
      methods.push({
        name: `${c.name}.${m.name}`,
        classId: c.id,
        methodId: m.id,
        key: c.id * 65536 + m.id,
        args: m.arguments.map((a) => ({
          name: a.name,
          prop: camel(a.name),
          type: a.type ?? domains.get(a.domain),
          defaultValue: a['default-value'],
        })),
      });
    }
    if (c.name === 'basic') properties = c.properties.map((p) => ({ name: p.name, prop: camel(p.name), type: p.type }));
  }
  return { methods, properties };
}

// ---------------------------------------------------------------------------------------------
// Sample values

const hex = (bytes) => ({ $hex: Buffer.from(bytes).toString('hex') });
const big = (n) => ({ $bigint: String(n) });
const fv = (type, value) => ({ type, value });

/** Exactly `n` bytes of UTF-8 mixing 1-, 2-, 3- and 4-byte characters, starting from `seed`. */
export function utf8OfLength(n, seed = '') {
  const cycle = ['a', 'é', '€', '🐇'];
  let s = seed;
  let len = Buffer.byteLength(s);
  if (len > n) throw new Error(`seed longer than ${n} bytes`);
  for (let i = 0; ; i++) {
    const c = cycle[i % cycle.length];
    const cl = Buffer.byteLength(c);
    if (len + cl > n) break;
    s += c;
    len += cl;
  }
  while (len < n) {
    s += 'z';
    len++;
  }
  return s;
}

/** A table with every field type RabbitMQ knows, each at its edges. */
function everyTypeTable() {
  return {
    $table: [
      ['bool-true', fv('t', true)],
      ['bool-false', fv('t', false)],
      ['int8-min', fv('b', -128)],
      ['int8-max', fv('b', 127)],
      ['uint8-max', fv('B', 255)],
      ['int16-min', fv('s', -32768)],
      ['int16-max', fv('s', 32767)],
      ['uint16-max', fv('u', 65535)],
      ['int32-min', fv('I', -2147483648)],
      ['int32-max', fv('I', 2147483647)],
      ['uint32-max', fv('i', 4294967295)],
      ['int64-min', fv('l', big(-(2n ** 63n)))],
      ['int64-max', fv('l', big(2n ** 63n - 1n))],
      ['int64-safe-min', fv('l', -9007199254740991)],
      ['int64-unsafe', fv('l', big(9007199254740992n))],
      ['float', fv('f', 1.5)],
      // biome-ignore lint/suspicious/noApproximativeNumericConstant: an arbitrary float, not pi
      ['float-fraction', fv('f', Math.fround(3.14159))],
      ['float-neg-zero', fv('f', { $float: '-0' })],
      ['float-neg-inf', fv('f', { $float: '-Infinity' })],
      ['double', fv('d', 0.1)],
      ['double-nan', fv('d', { $float: 'NaN' })],
      ['double-inf', fv('d', { $float: 'Infinity' })],
      ['double-min', fv('d', 5e-324)],
      ['decimal', fv('D', { scale: 2, value: 4294967295 })],
      ['decimal-zero', fv('D', { scale: 0, value: 0 })],
      ['longstr', fv('S', 'ünïcødé 🐇')],
      ['longstr-empty', fv('S', '')],
      ['bytes', fv('x', hex([0, 255, 128, 0xce]))],
      ['bytes-empty', fv('x', hex([]))],
      ['timestamp', fv('T', 1700000000)],
      ['timestamp-max', fv('T', big(2n ** 64n - 1n))],
      ['void', fv('V', null)],
      ['array-empty', fv('A', [])],
      [
        'array',
        fv('A', [
          fv('t', true),
          fv('b', -1),
          fv('I', 42),
          fv('S', 'x'),
          fv('x', hex([1, 2])),
          fv('T', 0),
          fv('V', null),
          fv('A', [fv('A', [fv('s', -2)])]),
          fv('F', { $table: [['in-array', fv('u', 7)]] }),
        ]),
      ],
      ['table-empty', fv('F', { $table: [] })],
      [
        'table',
        fv('F', {
          $table: [
            ['nested', fv('F', { $table: [['deeper', fv('A', [fv('l', 1), fv('d', -2.5)])]] })],
            ['sibling', fv('S', 'after nested')],
          ],
        }),
      ],
      ['ключ', fv('S', 'multibyte key')],
      [utf8OfLength(255, 'k'), fv('B', 1)],
      ['', fv('S', 'empty key')],
    ],
  };
}

/** A small table of the kind clients send as arguments. */
function argumentsTable() {
  return {
    $table: [
      ['x-message-ttl', fv('I', 60000)],
      ['x-dead-letter-exchange', fv('S', 'dlx')],
      ['x-max-priority', fv('b', 10)],
      ['x-expires', fv('l', 1800000)],
    ],
  };
}

const MAX = { octet: 255, short: 65535, long: 4294967295, longlong: 9007199254740991, timestamp: 9007199254740991 };
const MID = { octet: 0x5a, short: 0x1234, long: 0x89abcdef, longlong: 0x1_0000_0005, timestamp: 1700000000 };

/** One sample value of a domain type for a variant; `i` is the argument's position, `b` its bit index. */
function sample(type, variant, i, b) {
  switch (type) {
    case 'bit':
      switch (variant.bits) {
        case 'none':
          return false;
        case 'all':
          return true;
        case 'odd':
          return b % 2 === 0;
        case 'even':
          return b % 2 === 1;
        default:
          return b === variant.bits;
      }
    case 'octet':
    case 'short':
    case 'long':
    case 'longlong':
    case 'timestamp':
      return variant.numbers === 'min' ? 0 : variant.numbers === 'max' ? MAX[type] : MID[type] + i;
    case 'shortstr':
      if (variant.strings === 'empty') return '';
      if (variant.strings === 'max') return utf8OfLength(255, `${i}:`);
      if (variant.strings === 'multibyte') return `ünïcødé-${i}-🐇`;
      return `arg-${i}.name`;
    case 'longstr':
      if (variant.strings === 'empty') return hex([]);
      if (variant.strings === 'max') return hex([...Array(256).keys()]);
      if (variant.strings === 'multibyte') return hex(Buffer.from(`\u0000guest\u0000gü€st-${i}`));
      return hex(Buffer.from(`longstr-${i}`));
    case 'table':
      if (variant.tables === 'empty') return { $table: [] };
      if (variant.tables === 'every') return everyTypeTable();
      return argumentsTable();
    default:
      throw new Error(`no sample for type ${type}`);
  }
}

const VARIANTS = [
  { name: 'min', numbers: 'min', strings: 'empty', bits: 'none', tables: 'empty', channel: 1 },
  { name: 'max', numbers: 'max', strings: 'max', bits: 'all', tables: 'every', channel: 65535 },
  { name: 'mixed', numbers: 'mid', strings: 'ascii', bits: 'odd', tables: 'args', channel: 7 },
  { name: 'mixed-inverse', numbers: 'mid', strings: 'multibyte', bits: 'even', tables: 'every', channel: 300 },
];

/** Every vector: each method in each variant, one-hot bit patterns, and the spec defaults. */
export function methodVectors(spec = loadSpec()) {
  const out = [];
  for (const m of spec.methods) {
    // Connection-class methods travel on channel 0; the rest on a channel the variant picks.
    const channelOf = (v) => (m.classId === 10 ? 0 : v.channel);
    const bitCount = m.args.filter((a) => a.type === 'bit').length;
    const variants = [...VARIANTS];
    if (bitCount > 1) {
      for (let b = 0; b < bitCount; b++) {
        variants.push({ name: `bit-${b}-alone`, numbers: 'mid', strings: 'ascii', bits: b, tables: 'empty', channel: 2 + b });
      }
    }
    for (const v of variants) {
      const args = {};
      let b = 0;
      m.args.forEach((a, i) => {
        args[a.prop] = sample(a.type, v, i, a.type === 'bit' ? b++ : -1);
      });
      out.push({ method: m.name, key: m.key, variant: v.name, channel: channelOf(v), args });
    }
    // Only the arguments without a spec default: both encoders must fill in the same defaults.
    const args = {};
    m.args.forEach((a, i) => {
      if (a.defaultValue === undefined || a.defaultValue === null) args[a.prop] = sample(a.type, VARIANTS[2], i, 0);
    });
    out.push({ method: m.name, key: m.key, variant: 'defaults', channel: channelOf({ channel: 9 }), args });
  }
  return out;
}

/** Content headers: no property, each property alone, and all fourteen (twice, at both edges). */
export function propertyVectors(spec = loadSpec()) {
  const value = (p, v) => (p.type === 'table' ? (v === 'max' ? everyTypeTable() : argumentsTable()) : p.type === 'octet' ? (v === 'max' ? 255 : 2) : sample(p.type, { numbers: v === 'max' ? 'max' : 'mid', strings: v === 'max' ? 'max' : 'multibyte' }, 0, 0));
  const out = [{ flag: 'none', channel: 1, bodySize: 0, properties: {} }];
  spec.properties.forEach((p, i) => {
    out.push({ flag: p.prop, channel: 1 + i, bodySize: 16 + i, properties: { [p.prop]: value(p, 'mid') } });
  });
  out.push({ flag: 'all', channel: 65535, bodySize: 9007199254740991, properties: Object.fromEntries(spec.properties.map((p) => [p.prop, value(p, 'max')])) });
  out.push({ flag: 'all-mid', channel: 3, bodySize: 65536 * 3 + 1, properties: Object.fromEntries(spec.properties.map((p) => [p.prop, value(p, 'mid')])) });
  return out;
}

// ---------------------------------------------------------------------------------------------
// To amqplib's argument form

/** Converts the JSON form of a 64-bit integer or double. */
export function jsonNumber(v) {
  if (typeof v === 'number') return v;
  if (v && typeof v === 'object' && '$bigint' in v) return BigInt(v.$bigint);
  if (v && typeof v === 'object' && '$float' in v) return v.$float === '-0' ? -0 : Number(v.$float);
  throw new Error(`not a number: ${JSON.stringify(v)}`);
}

const AMQPLIB_TYPE = {
  t: 'boolean', b: 'byte', B: 'unsignedbyte', s: 'short', u: 'unsignedshort', I: 'int', i: 'unsignedint',
  l: 'long', f: 'float', d: 'double', T: 'timestamp', S: 'string',
};

/** A field value as amqplib encodes it: explicit types through its {'!': type, value} form. */
function amqplibField(f) {
  switch (f.type) {
    case 'D':
      return { '!': 'decimal', value: { places: f.value.scale, digits: f.value.value } };
    case 'x':
      return Buffer.from(f.value.$hex, 'hex');
    case 'A':
      return f.value.map(amqplibField);
    case 'F':
      return amqplibTable(f.value);
    case 'V':
      return null;
    case 't':
    case 'S':
      return { '!': AMQPLIB_TYPE[f.type], value: f.value };
    default:
      return { '!': AMQPLIB_TYPE[f.type], value: jsonNumber(f.value) };
  }
}

/** A table as the plain object amqplib takes; its keys must keep their order there. */
function amqplibTable(t) {
  const o = {};
  for (const [k, f] of t.$table) {
    // Objects list integer-like keys first, and "__proto__" is not an own key: either would make
    // amqplib's output differ from the intended table rather than test anything.
    if (/^(0|[1-9]\d*)$/.test(k) || k === '__proto__') throw new Error(`table key ${k} cannot be ordered in an object`);
    o[k] = amqplibField(f);
  }
  return o;
}

function amqplibValue(v) {
  if (v && typeof v === 'object' && '$hex' in v) return Buffer.from(v.$hex, 'hex');
  if (v && typeof v === 'object' && '$table' in v) return amqplibTable(v);
  return v;
}

/** The whole method frame amqplib writes for a vector. */
export function amqplibMethodFrame(vector) {
  const fields = Object.fromEntries(Object.entries(vector.args).map(([k, v]) => [k, amqplibValue(v)]));
  return defs.encodeMethod(vector.key, vector.channel, fields);
}

/** The whole content header frame (class 60, weight 0) amqplib writes for a property vector. */
export function amqplibHeaderFrame(vector) {
  const fields = Object.fromEntries(Object.entries(vector.properties).map(([k, v]) => [k, amqplibValue(v)]));
  return defs.encodeProperties(60, vector.channel, vector.bodySize, fields);
}

// ---------------------------------------------------------------------------------------------

export function build() {
  const spec = loadSpec();
  const methods = methodVectors(spec).map((v) => ({ ...v, hex: amqplibMethodFrame(v).toString('hex') }));
  const properties = propertyVectors(spec).map((v) => ({ ...v, hex: amqplibHeaderFrame(v).toString('hex') }));
  const covered = new Set(methods.map((v) => v.method));
  for (const m of spec.methods) if (!covered.has(m.name)) throw new Error(`no vector for ${m.name}`);
  return {
    comment: 'GENERATED by scripts/make-golden-vectors.mjs from spec/ with amqplib\'s encoder; do not edit.',
    reference: `amqplib ${AMQPLIB_VERSION} lib/defs.js`,
    methods,
    properties,
  };
}

/** One vector per line: small, and a changed vector shows as one changed line in a diff. */
export function render() {
  const { methods, properties, ...head } = build();
  const list = (vs) => `[\n${vs.map((v) => `  ${JSON.stringify(v)}`).join(',\n')}\n ]`;
  const top = Object.entries(head).map(([k, v]) => ` ${JSON.stringify(k)}: ${JSON.stringify(v)}`);
  return `{\n${[...top, ` "methods": ${list(methods)}`, ` "properties": ${list(properties)}`].join(',\n')}\n}\n`;
}

function main() {
  const text = render();
  if (process.argv.includes('--check')) {
    let current = '';
    try {
      current = readFileSync(VECTORS_PATH, 'utf8');
    } catch {}
    if (current !== text) {
      console.error(`stale: ${VECTORS_PATH}`);
      process.exit(1);
    }
    return;
  }
  writeFileSync(VECTORS_PATH, text);
  const v = JSON.parse(text);
  console.log(`wrote ${v.methods.length} method and ${v.properties.length} property vectors to ${VECTORS_PATH}`);
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) main();
