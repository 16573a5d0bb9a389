/**
 * Protocol negotiation (rabbit_reader: handshake/2 in 3.x, version_negotiation/2 since 4.0): what the
 * 8 bytes a client opens with get, in the imitated release.
 *
 * - `AMQP 0 0 9 1`, and 0-9's `AMQP 1 1 0 9` (which RabbitMQ treats as 0-9-1): accepted.
 * - 0-8's `AMQP 1 1 8 0` and `AMQP 1 1 9 1`: 3.x answers with a 0-8 connection.start; 4.0 removed 0-8.
 * - Anything else is refused with a protocol header, then the socket is closed: 3.x sends 0-9-1's;
 *   4.x sends AMQP 1.0's SASL header `AMQP 3 1 0 0`, except to `AMQP 0 0 9+ x`, which gets 0-9-1's.
 *   Warren speaks no AMQP 1.0: the 1.0 SASL header itself, which 4.x accepts, gets 0-9-1's header,
 *   and so does everything when Warren runs as itself (the 0-9-1 spec's negotiation rule).
 */
import type { Personality } from '../personality.js';
import { PROTOCOL_HEADER } from '../protocol/generated/constants.js';

export type HeaderVerdict = { readonly accept: '0-9-1' | '0-8' } | { readonly refuse: Buffer };

const AMQP_1_0_SASL = Buffer.from([0x41, 0x4d, 0x51, 0x50, 3, 1, 0, 0]);

/** `AMQP 1 1 8 0` (what most 0-8 clients send) or `AMQP 1 1 9 1` (the 0-8 spec's own header). */
export function isAmqp08Header(h: Buffer): boolean {
  return h.toString('latin1', 0, 6) === 'AMQP\x01\x01' && ((h[6] === 8 && h[7] === 0) || (h[6] === 9 && h[7] === 1));
}

export function judgeProtocolHeader(h: Buffer, p: Personality): HeaderVerdict {
  const amqp = h.toString('latin1', 0, 4) === 'AMQP';
  const [a, b, c, d] = [h[4]!, h[5]!, h[6]!, h[7]!];
  if (amqp && ((a === 0 && b === 0 && c === 9 && d === 1) || (a === 1 && b === 1 && c === 0 && d === 9))) return { accept: '0-9-1' };
  if (p.amqp08Start && isAmqp08Header(h)) return { accept: '0-8' };
  if (p.refusalHeader === 'amqp-0-9-1') return { refuse: PROTOCOL_HEADER };
  if (amqp && a === 0 && b === 0 && c >= 9) return { refuse: PROTOCOL_HEADER };
  if (amqp && a === 3 && b === 1 && c === 0 && d === 0) return { refuse: PROTOCOL_HEADER };
  return { refuse: AMQP_1_0_SASL };
}

/** Gathers the 8-byte header, which may come in more than one socket chunk. */
export class HeaderCollector {
  private partial: Buffer | null = null;

  /** The header and the bytes after it once all 8 arrived; undefined until then. */
  take(chunk: Buffer): { readonly header: Buffer; readonly rest: Buffer } | undefined {
    const have = this.partial === null ? chunk : Buffer.concat([this.partial, chunk]);
    if (have.length < 8) {
      this.partial = have;
      return undefined;
    }
    this.partial = null;
    return { header: have.subarray(0, 8), rest: have.subarray(8) };
  }
}
