#!/usr/bin/env node
// Generates src/protocol/generated/*.ts from the machine-readable AMQP 0-9-1 definition in spec/.
//
// Structure (classes, methods, argument names, types and defaults, properties, constants) comes from
// spec/amqp-rabbitmq-0.9.1.json, the file RabbitMQ generates its own codec from. The documentation
// labels, which peer may send each method (chassis), and the synchronous replies come from
// spec/amqp0-9-1.extended.xml; the generator checks that the two files agree on every method and field.
//
//   node scripts/generate-codec.mjs          write the generated files
//   node scripts/generate-codec.mjs --check  exit 1 if the committed files differ from what would be written
//
// The same function renders for both modes, and test/codec/generated-drift.test.ts calls it too.
import { readFileSync, writeFileSync, mkdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const OUT_DIR = join(root, 'src/protocol/generated');

const HEADER = `// GENERATED FILE - DO NOT EDIT.
// Produced by scripts/generate-codec.mjs from spec/amqp-rabbitmq-0.9.1.json,
// spec/amqp0-9-1.extended.xml and spec/credit_extension.json. Run \`npm run generate\` after changing the spec or the generator;
// test/codec/generated-drift.test.ts fails when this file and the spec disagree.
`;

// ---------------------------------------------------------------------------------------------
// Reading the spec

function loadJson(dir) {
  return JSON.parse(readFileSync(join(dir, 'amqp-rabbitmq-0.9.1.json'), 'utf8'));
}

/**
 * RabbitMQ's credit extension (spec/credit_extension.json): methods of basic that are in RabbitMQ's
 * framing code but in neither spec file. Their XML facts (chassis, responses) come from the file.
 */
function loadExtension(dir) {
  const ext = JSON.parse(readFileSync(join(dir, 'credit_extension.json'), 'utf8'));
  const methods = new Map();
  for (const c of ext.classes) {
    for (const m of c.methods) {
      methods.set(`${c.name}.${m.name}`, {
        json: m,
        xml: {
          label: '',
          index: m.id,
          synchronous: Boolean(m.synchronous),
          content: Boolean(m.content),
          chassis: ext.extension.chassis[m.name] ?? [],
          responses: ext.extension.responses[m.name] ?? [],
          fields: m.arguments.map((a) => ({ type: a.type })),
          doc: '',
        },
      });
    }
  }
  return methods;
}

/** A small extractor for the regular structure of the spec XML (no general XML parsing needed). */
function loadXml(dir) {
  const xml = readFileSync(join(dir, 'amqp0-9-1.extended.xml'), 'utf8').replace(/<!--[\s\S]*?-->/g, '');
  const attrs = (s) => Object.fromEntries([...s.matchAll(/([\w-]+)\s*=\s*"([^"]*)"/g)].map((m) => [m[1], m[2]]));
  const classes = new Map();
  for (const cm of xml.matchAll(/<class\s([^>]*)>([\s\S]*?)<\/class>/g)) {
    const ca = attrs(cm[1]);
    const methods = new Map();
    for (const mm of cm[2].matchAll(/<method\s([^>]*?)(\/>|>([\s\S]*?)<\/method>)/g)) {
      const ma = attrs(mm[1]);
      const body = mm[3] ?? '';
      const chassis = [...body.matchAll(/<chassis\s([^>]*)\/>/g)].map((m) => attrs(m[1]).name);
      const responses = [...body.matchAll(/<response\s([^>]*)\/>/g)].map((m) => attrs(m[1]).name);
      const fields = [...body.matchAll(/<field\s([^>]*?)(\/>|>)/g)].map((m) => attrs(m[1]));
      const doc = (body.match(/<doc>([\s\S]*?)<\/doc>/) ?? [])[1];
      methods.set(ma.name, {
        label: ma.label ?? '',
        index: Number(ma.index),
        synchronous: ma.synchronous === '1',
        content: ma.content === '1',
        chassis,
        responses,
        fields,
        doc: doc ? doc.replace(/\s+/g, ' ').trim() : '',
      });
    }
    classes.set(ca.name, { index: Number(ca.index), label: ca.label ?? '', methods });
  }
  const domains = new Map(
    [...xml.matchAll(/<domain\s([^>]*?)\/?>/g)].map((m) => attrs(m[1])).map((a) => [a.name, a.type]),
  );
  return { classes, domains };
}

function jsonOnlyClass(c) {
  const methods = new Map(
    c.methods.map((m) => {
      const isReply = m.name.endsWith('-ok');
      return [
        m.name,
        {
          label: '',
          index: m.id,
          synchronous: Boolean(m.synchronous),
          content: Boolean(m.content),
          chassis: [isReply ? 'client' : 'server'],
          responses: !isReply && m.synchronous ? [`${m.name}-ok`] : [],
          fields: m.arguments.map((a) => (a.type ? { type: a.type } : { domain: a.domain })),
          doc: '',
        },
      ];
    }),
  );
  return { index: c.id, label: '', methods };
}

// ---------------------------------------------------------------------------------------------
// Naming

const camel = (s) => s.replace(/-([a-z0-9])/g, (_, c) => c.toUpperCase());
const pascal = (s) => camel(s).replace(/^[a-z]/, (c) => c.toUpperCase());
const constName = (s) => s.toUpperCase().replace(/-/g, '_');

const TS_TYPES = {
  octet: 'number',
  short: 'number',
  long: 'number',
  longlong: 'number',
  timestamp: 'number',
  bit: 'boolean',
  shortstr: 'string',
  longstr: 'Buffer',
  table: 'FieldTable',
};
const ENCODE_TYPES = { ...TS_TYPES, shortstr: 'string | Buffer', longstr: 'string | Buffer', timestamp: 'number | bigint' };

function tsLiteral(type, value) {
  if (value === undefined || value === null) return undefined;
  switch (type) {
    case 'bit':
      return String(Boolean(value));
    case 'shortstr':
      return JSON.stringify(value);
    case 'longstr':
      return `Buffer.from(${JSON.stringify(value)})`;
    case 'table':
      return 'new Map()';
    default:
      return String(value);
  }
}

// ---------------------------------------------------------------------------------------------
// Model: JSON structure, checked against and decorated by the XML

function buildModel(specDir) {
  const json = loadJson(specDir);
  const xml = loadXml(specDir);
  const extension = loadExtension(specDir);
  const domainType = new Map(json.domains.map(([n, t]) => [n, t]));
  const problems = [];
  const classes = [];
  for (const c of json.classes) {
    // The access class was removed from 0-9-1's XML but RabbitMQ's JSON keeps it, because old clients
    // still send access.request and RabbitMQ answers it. For such JSON-only classes, the XML facts are
    // derived from the JSON: the client sends requests and the server sends the "-ok" replies.
    const xc = xml.classes.get(c.name) ?? jsonOnlyClass(c);
    if (xc.index !== c.id) problems.push(`class ${c.name}: id ${c.id} in JSON, ${xc.index} in XML`);
    const methods = [];
    const extra = [...extension.entries()].filter(([k]) => k.startsWith(`${c.name}.`)).map(([, e]) => e);
    for (const e of extra) xc.methods.set(e.json.name, e.xml);
    for (const m of [...c.methods, ...extra.map((e) => e.json)]) {
      const xm = xc.methods.get(m.name);
      if (!xm) {
        problems.push(`method ${c.name}.${m.name} missing from XML`);
        continue;
      }
      if (xm.index !== m.id) problems.push(`${c.name}.${m.name}: id ${m.id} in JSON, ${xm.index} in XML`);
      if (Boolean(m.content) !== xm.content) problems.push(`${c.name}.${m.name}: content flag differs`);
      const args = m.arguments.map((a) => ({
        name: a.name,
        prop: camel(a.name),
        type: a.type ?? domainType.get(a.domain),
        defaultValue: a['default-value'],
      }));
      if (xm.fields.length !== args.length) {
        problems.push(`${c.name}.${m.name}: ${args.length} fields in JSON, ${xm.fields.length} in XML`);
      } else {
        xm.fields.forEach((f, i) => {
          const xt = f.type ?? xml.domains.get(f.domain);
          const resolved = xml.domains.get(xt) ?? xt;
          if (resolved !== args[i].type) {
            problems.push(`${c.name}.${m.name} field ${i}: ${args[i].type} in JSON, ${resolved} in XML`);
          }
        });
      }
      methods.push({
        className: c.name,
        classId: c.id,
        name: m.name,
        methodId: m.id,
        fullName: `${c.name}.${m.name}`,
        typeName: pascal(c.name) + pascal(m.name),
        key: (c.id << 16) | m.id,
        synchronous: xm.synchronous,
        content: xm.content,
        label: xm.label,
        doc: xm.doc,
        serverReceives: xm.chassis.includes('server'),
        clientReceives: xm.chassis.includes('client'),
        responses: xm.responses,
        args,
      });
    }
    classes.push({ name: c.name, id: c.id, label: xc?.label ?? '', methods, properties: c.properties ?? [] });
  }
  if (problems.length) throw new Error(`spec files disagree:\n  ${problems.join('\n  ')}`);
  for (const c of classes) {
    for (const m of c.methods) {
      m.responseKeys = m.responses.map((r) => {
        const target = c.methods.find((x) => x.name === r);
        if (!target) throw new Error(`${m.fullName}: response ${r} not found`);
        return target.key;
      });
    }
  }
  return { json, classes };
}

// ---------------------------------------------------------------------------------------------
// Rendering

const hex = (n, w = 8) => '0x' + n.toString(16).padStart(w, '0');

function renderConstants({ json, classes }) {
  const out = [HEADER, ''];
  out.push(`export const PROTOCOL_VERSION = { major: ${json['major-version']}, minor: ${json['minor-version']}, revision: ${json.revision} } as const;`);
  out.push(`export const DEFAULT_PORT = ${json.port};`);
  out.push(`/** The protocol header a 0-9-1 peer sends first: "AMQP" 0 0 9 1. */`);
  out.push(`export const PROTOCOL_HEADER = Buffer.from([0x41, 0x4d, 0x51, 0x50, 0, ${json['major-version']}, ${json['minor-version']}, ${json.revision}]);`);
  out.push('');
  // FRAME-ERROR is a reply code that happens to share the prefix: frame constants have no error class.
  const isFrameConst = (k) => k.name.startsWith('FRAME-') && !k.class;
  const frameConsts = json.constants.filter(isFrameConst);
  for (const k of frameConsts) out.push(`export const ${constName(k.name)} = ${k.value};`);
  out.push('');
  out.push('/** Reply codes with their names and, for errors, whether they close the channel or the connection. */');
  out.push('export const ReplyCode = {');
  const codes = json.constants.filter((k) => !isFrameConst(k));
  for (const k of codes) out.push(`  ${constName(k.name)}: ${k.value},`);
  out.push('} as const;');
  out.push('export type ReplyCodeName = keyof typeof ReplyCode;');
  out.push('export type ReplyCodeValue = (typeof ReplyCode)[ReplyCodeName];');
  out.push('');
  out.push("export type ErrorClass = 'soft' | 'hard';");
  out.push('export const REPLY_CODE_INFO: ReadonlyMap<number, { readonly name: ReplyCodeName; readonly errorClass: ErrorClass | undefined }> = new Map([');
  for (const k of codes) {
    const cls = k.class === 'soft-error' ? "'soft'" : k.class === 'hard-error' ? "'hard'" : 'undefined';
    out.push(`  [${k.value}, { name: '${constName(k.name)}', errorClass: ${cls} }],`);
  }
  out.push(']);');
  out.push('');
  out.push('export const ClassId = {');
  for (const c of classes) out.push(`  ${pascal(c.name)}: ${c.id},`);
  out.push('} as const;');
  out.push('');
  return out.join('\n');
}

function renderMethods({ classes }) {
  const all = classes.flatMap((c) => c.methods);
  const out = [HEADER];
  out.push("import type { FieldTable } from '../field-table.js';");
  out.push("import type { Reader, Writer } from '../codec-primitives.js';");
  out.push('');
  out.push('/** Method keys: (class id << 16) | method id, the value a decoded method carries in `id`. */');
  out.push('export const Method = {');
  for (const m of all) out.push(`  ${m.typeName}: ${hex(m.key)}, // ${m.fullName}`);
  out.push('} as const;');
  out.push('');

  for (const m of all) {
    out.push(`/** ${m.fullName} (${m.classId}, ${m.methodId}): ${m.label}. */`);
    out.push(`export interface ${m.typeName} {`);
    out.push(`  readonly id: ${hex(m.key)};`);
    for (const a of m.args) out.push(`  ${a.prop}: ${TS_TYPES[a.type]};`);
    out.push('}');
    const optional = (a) => a.defaultValue !== undefined && a.defaultValue !== null;
    out.push(`/** Arguments for encoding ${m.fullName}; those with a default in the spec may be left out. */`);
    out.push(`export interface ${m.typeName}Args {`);
    for (const a of m.args) out.push(`  ${a.prop}${optional(a) ? '?' : ''}: ${ENCODE_TYPES[a.type]};`);
    out.push('}');
    out.push('');
  }

  out.push('export type AnyMethod =');
  for (const m of all) out.push(`  | ${m.typeName}`);
  out.push('  ;');
  out.push('');

  // Decoders
  for (const m of all) {
    out.push(`export function decode${m.typeName}(${m.args.length ? 'r' : '_r'}: Reader): ${m.typeName} {`);
    // Locals are prefixed: some argument names ("arguments") are reserved words in strict mode.
    // Short strings of methods without content must be valid UTF-8 (RabbitMQ's generated decoder
    // asserts it, skipping content-bearing methods for speed).
    for (const a of m.args) {
      const read = a.type === 'shortstr' && !m.content ? 'shortstrUtf8' : a.type;
      out.push(`  const f_${a.prop} = r.${read}();`);
    }
    const fields = ['id: ' + hex(m.key), ...m.args.map((a) => `${a.prop}: f_${a.prop}`)];
    out.push(`  return { ${fields.join(', ')} };`);
    out.push('}');
    out.push('');
  }
  out.push('/** Decodes a method payload positioned after its class and method ids; undefined for an unknown method. */');
  out.push('export function decodeMethod(key: number, r: Reader): AnyMethod | undefined {');
  out.push('  switch (key) {');
  for (const m of all) out.push(`    case ${hex(m.key)}: return decode${m.typeName}(r);`);
  out.push('    default: return undefined;');
  out.push('  }');
  out.push('}');
  out.push('');

  // Encoders: whole method frames.
  for (const m of all) {
    const argsParam = m.args.length ? `, a: ${m.typeName}Args` : '';
    out.push(`/** Writes a complete ${m.fullName} method frame on \`channel\`. */`);
    out.push(`export function encode${m.typeName}(w: Writer, channel: number${argsParam}): void {`);
    out.push('  const start = w.frameStart(1, channel);');
    out.push(`  w.short(${m.classId});`);
    out.push(`  w.short(${m.methodId});`);
    for (const a of m.args) {
      const def = tsLiteral(a.type, a.defaultValue);
      const expr = def !== undefined ? `a.${a.prop} ?? ${def}` : `a.${a.prop}`;
      const fn = a.type;
      out.push(`  w.${fn}(${expr});`);
    }
    out.push('  w.frameEnd(start);');
    out.push('}');
    out.push('');
  }

  out.push('/** Encodes any method given its decoded form (tests and tools; the broker calls the specific encoders). */');
  out.push('export function encodeMethod(w: Writer, channel: number, m: AnyMethod): void {');
  out.push('  switch (m.id) {');
  for (const m of all) {
    out.push(`    case ${hex(m.key)}: return encode${m.typeName}(w, channel${m.args.length ? ', m' : ''});`);
  }
  out.push('  }');
  out.push('}');
  out.push('');

  out.push('export interface MethodInfo {');
  out.push('  /** "class.method" as RabbitMQ writes it in error texts. */');
  out.push('  readonly name: string;');
  out.push('  readonly classId: number;');
  out.push('  readonly methodId: number;');
  out.push('  readonly synchronous: boolean;');
  out.push('  /** Followed by a content header and body frames. */');
  out.push('  readonly hasContent: boolean;');
  out.push('  /** The spec lets a client send it to the server (chassis "server"). */');
  out.push('  readonly serverReceives: boolean;');
  out.push('  /** The server may send it to a client (chassis "client"). */');
  out.push('  readonly clientReceives: boolean;');
  out.push('  /** Keys of the methods that answer it, for synchronous methods. */');
  out.push('  readonly responses: readonly number[];');
  out.push('  readonly label: string;');
  out.push('}');
  out.push('');
  out.push('export const METHOD_INFO: ReadonlyMap<number, MethodInfo> = new Map([');
  for (const m of all) {
    out.push(
      `  [${hex(m.key)}, { name: '${m.fullName}', classId: ${m.classId}, methodId: ${m.methodId}, synchronous: ${m.synchronous}, hasContent: ${m.content}, serverReceives: ${m.serverReceives}, clientReceives: ${m.clientReceives}, responses: [${m.responseKeys.map((k) => hex(k)).join(', ')}], label: ${JSON.stringify(m.label)} }],`,
    );
  }
  out.push(']);');
  out.push('');
  out.push('/** "class.method" for a method key, or a numeric description for an unknown one. */');
  out.push('export function methodName(key: number): string {');
  // biome-ignore lint/suspicious/noTemplateCurlyInString: the generated code holds a template literal
  out.push('  return METHOD_INFO.get(key)?.name ?? `unknown method (${key >>> 16}, ${key & 0xffff})`;');
  out.push('}');
  out.push('');
  return out.join('\n');
}

function renderProperties({ classes }) {
  const basic = classes.find((c) => c.name === 'basic');
  const props = basic.properties.map((p, i) => ({
    name: p.name,
    prop: camel(p.name),
    type: p.type,
    // Property flags: the first property is bit 15 of the first flag word (spec 4.2.6.1).
    bit: 15 - i,
  }));
  if (props.length > 15) throw new Error('basic properties need a continuation flag word; not supported');
  const out = [HEADER];
  out.push("import type { FieldTable } from '../field-table.js';");
  out.push("import type { Reader, Writer } from '../codec-primitives.js';");
  out.push('');
  out.push(`/** The ${props.length} properties of a basic-class content header; absent properties are undefined. */`);
  out.push('export interface BasicProperties {');
  for (const p of props) {
    const t = p.type === 'timestamp' ? 'number | bigint' : TS_TYPES[p.type];
    out.push(`  ${p.prop}?: ${t} | undefined;`);
  }
  out.push('}');
  out.push('');
  out.push('export const BasicPropertyFlag = {');
  for (const p of props) out.push(`  ${p.prop}: ${hex(1 << p.bit, 4)},`);
  out.push('} as const;');
  out.push('');
  out.push('/**');
  out.push(' * Decodes the property flags and list of a basic content header (after class, weight and body size).');
  out.push(' * Like RabbitMQ\'s generated decoder, it reads the presence bits of the basic properties and ignores');
  out.push(' * the two low bits of the flag word (the continuation bit included): there is no second word.');
  out.push(' */');
  out.push('export function decodeBasicProperties(r: Reader): BasicProperties {');
  out.push('  const flags = r.short();');
  out.push('  const p: BasicProperties = {};');
  for (const p of props) out.push(`  if (flags & ${hex(1 << p.bit, 4)}) p.${p.prop} = r.${p.type}();`);
  out.push('  return p;');
  out.push('}');
  out.push('');
  out.push('/** Writes the property flags and list of a basic content header. */');
  out.push('export function encodeBasicProperties(w: Writer, p: BasicProperties): void {');
  out.push('  let flags = 0;');
  for (const p of props) out.push(`  if (p.${p.prop} !== undefined) flags |= ${hex(1 << p.bit, 4)};`);
  out.push('  w.short(flags);');
  for (const p of props) out.push(`  if (p.${p.prop} !== undefined) w.${p.type}(p.${p.prop});`);
  out.push('}');
  out.push('');
  return out.join('\n');
}

export function render(specDir = join(root, 'spec')) {
  const model = buildModel(specDir);
  return {
    'constants.ts': renderConstants(model),
    'methods.ts': renderMethods(model),
    'properties.ts': renderProperties(model),
  };
}

function main() {
  const files = render();
  const check = process.argv.includes('--check');
  let stale = 0;
  mkdirSync(OUT_DIR, { recursive: true });
  for (const [name, text] of Object.entries(files)) {
    const path = join(OUT_DIR, name);
    let current = '';
    try {
      current = readFileSync(path, 'utf8');
    } catch {}
    if (current === text) continue;
    stale++;
    if (check) console.error(`stale: ${path}`);
    else writeFileSync(path, text);
  }
  if (check && stale) process.exit(1);
  if (!check) console.log(`generated ${Object.keys(files).length} files in ${OUT_DIR}${stale ? '' : ' (unchanged)'}`);
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) main();
