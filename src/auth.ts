/**
 * SASL: the PLAIN and AMQPLAIN mechanisms RabbitMQ offers by default, and what a loopback interface
 * is (for loopback_users). The users themselves are in src/access/access-database.ts.
 *
 * Each mechanism turns the client's response into credentials or a protocol error, as RabbitMQ's
 * `rabbit_auth_mechanism_plain` and `rabbit_auth_mechanism_amqplain` do. Failures never say whether the
 * user or the password was wrong.
 */
import { Reader, DecodeError } from './protocol/codec-primitives.js';
import type { FieldTable } from './protocol/field-table.js';
import { erlangBinary } from './wire/frame-parser.js';

type SaslResult =
  | { kind: 'credentials'; username: string; password: Buffer }
  /** The response could not be parsed: RabbitMQ answers 502 SYNTAX_ERROR with this explanation. */
  | { kind: 'protocol-error'; explanation: string };

export interface SaslMechanism {
  readonly name: string;
  handleResponse(response: Buffer): SaslResult;
}

/** SASL PLAIN (RFC 4616) as RabbitMQ reads it: "\0user\0password", with an empty authorisation id. */
const plain: SaslMechanism = {
  name: 'PLAIN',
  handleResponse(response) {
    const invalid = (): SaslResult => ({ kind: 'protocol-error', explanation: `response ${erlangBinary(response)} invalid` });
    if (response.length === 0 || response[0] !== 0) return invalid();
    const second = response.indexOf(0, 1);
    if (second < 0) return invalid();
    const username = response.toString('utf8', 1, second);
    const rest = response.subarray(second + 1);
    if (rest.includes(0)) return invalid();
    return { kind: 'credentials', username, password: Buffer.from(rest) };
  },
};

/** AMQPLAIN: a field table (without its length prefix) holding LOGIN and PASSWORD. */
const amqplain: SaslMechanism = {
  name: 'AMQPLAIN',
  handleResponse(response) {
    const framed = Buffer.allocUnsafe(response.length + 4);
    framed.writeUInt32BE(response.length, 0);
    response.copy(framed, 4);
    let table: FieldTable;
    try {
      table = new Reader(framed).table();
    } catch (e) {
      if (e instanceof DecodeError) {
        return { kind: 'protocol-error', explanation: `AMQPLAIN auth info ${erlangBinary(response)} is invalid` };
      }
      throw e;
    }
    const login = table.get('LOGIN');
    const password = table.get('PASSWORD');
    if (login === undefined || password === undefined) {
      return { kind: 'protocol-error', explanation: 'AMQPLAIN auth info is missing LOGIN or PASSWORD field' };
    }
    if (login.type !== 'S' || password.type !== 'S') {
      return { kind: 'protocol-error', explanation: 'AMQPLAIN auth info uses unsupported type for LOGIN or PASSWORD field' };
    }
    return {
      kind: 'credentials',
      username: typeof login.value === 'string' ? login.value : login.value.toString('utf8'),
      password: Buffer.from(password.value),
    };
  },
};

export const SASL_MECHANISMS: ReadonlyMap<string, SaslMechanism> = new Map([
  [amqplain.name, amqplain],
  [plain.name, plain],
]);

/** The mechanisms field of connection.start, in RabbitMQ's order. */
export const SASL_MECHANISM_LIST = [...SASL_MECHANISMS.keys()].join(' ');

/** Whether a socket's local address is a loopback interface (RabbitMQ checks the local end). */
export function isLoopbackAddress(address: string | undefined): boolean {
  if (address === undefined) return true; // in-process streams have no address: they are local
  if (address === '::1') return true;
  const v4 = address.startsWith('::ffff:') ? address.slice(7) : address;
  return v4.startsWith('127.');
}
