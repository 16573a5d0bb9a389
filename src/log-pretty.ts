/**
 * The human-readable log format (`--log-format pretty`, the default on a terminal): pino's JSON
 * line turned into one line to read, for people running Warren locally.
 *
 *   18:01:42.123 INFO  listening host=:: port=5672
 *   18:01:43.007 WARN  connection closed with an error conn=3 peer=127.0.0.1:50312 err="..."
 *
 * A small formatter on pino's destination instead of pino-pretty: pino-pretty runs in a worker
 * thread with a dozen dependencies, and this needs one function. It formats on the event loop, so
 * it is only meant for terminals, where a person reads at most a few lines a second; JSON stays the
 * format for anything collected.
 */

const LEVELS: Record<number, { name: string; color: string }> = {
  10: { name: 'TRACE', color: '\x1b[90m' },
  20: { name: 'DEBUG', color: '\x1b[36m' },
  30: { name: 'INFO', color: '\x1b[32m' },
  40: { name: 'WARN', color: '\x1b[33m' },
  50: { name: 'ERROR', color: '\x1b[31m' },
  60: { name: 'FATAL', color: '\x1b[35m' },
};
const DIM = '\x1b[2m';
const RESET = '\x1b[0m';
/** pino's own fields, shown in the line's fixed columns (or not at all) instead of as key=value. */
const OWN = new Set(['level', 'time', 'name', 'msg', 'pid', 'hostname', 'err']);

/** Formats one pino JSON line (with its newline); anything that is not one passes unchanged. */
export function formatPretty(line: string, color: boolean): string {
  let rec: Record<string, unknown>;
  try {
    rec = JSON.parse(line) as Record<string, unknown>;
  } catch {
    return line;
  }
  if (rec === null || typeof rec !== 'object') return line;
  const level = LEVELS[rec.level as number] ?? { name: String(rec.level), color: '' };
  const time = typeof rec.time === 'number' ? clock(new Date(rec.time)) : '';
  const paint = (code: string, text: string) => (color && code !== '' ? `${code}${text}${RESET}` : text);
  let out = `${paint(DIM, time)} ${paint(level.color, level.name.padEnd(5))} ${typeof rec.msg === 'string' ? rec.msg : ''}`;
  for (const [key, value] of Object.entries(rec)) {
    if (OWN.has(key)) continue;
    out += ` ${paint(DIM, `${key}=`)}${show(value)}`;
  }
  const err = rec.err as { message?: unknown; stack?: unknown } | undefined;
  if (err !== undefined && err !== null) {
    if (typeof err === 'object' && typeof err.stack === 'string') {
      out += `\n${err.stack.replace(/^/gm, '    ')}`;
    } else {
      out += ` ${paint(DIM, 'err=')}${show(typeof err === 'object' && err.message !== undefined ? err.message : err)}`;
    }
  }
  return `${out}\n`;
}

function clock(d: Date): string {
  const two = (n: number) => String(n).padStart(2, '0');
  return `${two(d.getHours())}:${two(d.getMinutes())}:${two(d.getSeconds())}.${String(d.getMilliseconds()).padStart(3, '0')}`;
}

/** A value as key=value shows it: bare when it reads unambiguously, JSON otherwise. */
function show(value: unknown): string {
  if (typeof value === 'string') return value !== '' && /^[^\s"=]+$/.test(value) ? value : JSON.stringify(value);
  if (typeof value === 'number' || typeof value === 'boolean' || value === null) return String(value);
  return JSON.stringify(value);
}
