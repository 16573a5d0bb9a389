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
  /** EXTERNAL: the login is the name in the client's (verified) TLS certificate. */
  | { kind: 'certificate' }
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

/**
 * EXTERNAL (rabbitmq_auth_mechanism_ssl): the response is ignored, the user is the one the client's
 * TLS certificate names. Offered only on a TLS connection whose client presented a verified
 * certificate.
 */
const external: SaslMechanism = {
  name: 'EXTERNAL',
  handleResponse: () => ({ kind: 'certificate' }),
};

/** Every mechanism Warren has, in the order connection.start lists them. */
const SASL_MECHANISMS: ReadonlyMap<string, SaslMechanism> = new Map([
  [amqplain.name, amqplain],
  [external.name, external],
  [plain.name, plain],
]);

/** RabbitMQ's default auth_mechanisms: EXTERNAL has to be configured (and the connection TLS with a client certificate). */
export const DEFAULT_AUTH_MECHANISMS: readonly string[] = ['PLAIN', 'AMQPLAIN'];

/**
 * The mechanisms a connection is offered (rabbit_reader:auth_mechanisms/1): those configured, that
 * Warren has and that suit the connection, in Warren's order.
 */
export function offeredMechanisms(configured: readonly string[], hasPeerCertificate: boolean): SaslMechanism[] {
  return [...SASL_MECHANISMS.values()].filter((m) => configured.includes(m.name) && (m !== external || hasPeerCertificate));
}

/**
 * The mechanism a client chose: unknown to Warren, or known but not offered here, are the two
 * command_invalid texts of rabbit_reader:auth_mechanism_to_module/2.
 */
export function chosenMechanism(name: string, offered: readonly SaslMechanism[]): SaslMechanism | { readonly error: string } {
  if (!SASL_MECHANISMS.has(name)) return { error: `unknown authentication mechanism '${name}'` };
  return offered.find((m) => m.name === name) ?? { error: `invalid authentication mechanism '${name}'` };
}

/** Whether a socket's local address is a loopback interface (RabbitMQ checks the local end). */
export function isLoopbackAddress(address: string | undefined): boolean {
  if (address === undefined) return true; // in-process streams have no address: they are local
  if (address === '::1') return true;
  const v4 = address.startsWith('::ffff:') ? address.slice(7) : address;
  return v4.startsWith('127.');
}
