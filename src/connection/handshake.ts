/**
 * The connection-class handshake (rabbit_reader): connection.start with the server properties,
 * start-ok with the SASL response and the login, tune and tune-ok with RabbitMQ's negotiation rules,
 * and connection.open of a virtual host. Only the steps: the connection keeps the state, decides
 * what may arrive when, and turns errors into replies (or RabbitMQ's silent close).
 */
import { SASL_MECHANISMS, SASL_MECHANISM_LIST, isLoopbackAddress, type User } from '../auth.js';
import { commandInvalid, notAllowed, syntaxError } from '../errors.js';
import type { FieldTable } from '../protocol/field-table.js';
import {
  Method,
  encodeConnectionOpenOk,
  encodeConnectionStart,
  encodeConnectionTune,
  type ConnectionStartOk,
  type ConnectionTuneOk,
} from '../protocol/generated/methods.js';
import type { VHost } from '../vhost.js';
import type { Outbound } from '../wire/outbound.js';
import type { BrokerContext, PeerInfo } from './broker-context.js';

export interface Tuning {
  readonly frameMax: number;
  readonly channelMax: number;
  readonly heartbeat: number;
}

/** The outcome of start-ok: go on to tuning, or a refused login (with the reason for the log). */
export type LoginResult = { readonly user: User } | { readonly refused: string };

export class Handshake {
  /** The client's capability flags (connection.start-ok client-properties.capabilities). */
  capabilities: FieldTable = new Map();
  clientProperties: FieldTable = new Map();
  /** The SASL mechanism the client chose (for the log and the refusal text). */
  mechanism = '';

  constructor(
    private readonly out: Outbound,
    private readonly broker: BrokerContext,
    private readonly peer: PeerInfo,
  ) {}

  hasCapability(name: string): boolean {
    const v = this.capabilities.get(name);
    return v !== undefined && v.type === 't' && v.value;
  }

  /**
   * connection.start, once the client's protocol header was accepted; for an AMQP 0-8 header (3.x
   * personalities) the 0-8 one, version 8-0 (rabbit_reader:start_connection/3 of 3.10).
   */
  start(protocol: '0-9-1' | '0-8' = '0-9-1'): void {
    encodeConnectionStart(this.out, 0, {
      versionMajor: protocol === '0-8' ? 8 : 0,
      versionMinor: protocol === '0-8' ? 0 : 9,
      serverProperties: this.broker.serverProperties(protocol),
      mechanisms: Buffer.from(SASL_MECHANISM_LIST),
      locales: Buffer.from('en_US'),
    });
    this.out.frameDone();
  }

  /** start-ok: the mechanism's response checked against the users; on success connection.tune goes out. */
  startOk(m: ConnectionStartOk): LoginResult {
    this.clientProperties = m.clientProperties;
    const caps = m.clientProperties.get('capabilities');
    this.capabilities = caps !== undefined && caps.type === 'F' ? caps.value : new Map();
    const mechanism = SASL_MECHANISMS.get(m.mechanism);
    if (mechanism === undefined) throw commandInvalid(`unknown authentication mechanism '${m.mechanism}'`);
    this.mechanism = mechanism.name;
    const result = mechanism.handleResponse(m.response);
    if (result.kind === 'protocol-error') throw syntaxError(result.explanation);
    const user = this.broker.users.check(result.username, result.password);
    if (user === undefined) return { refused: `user '${result.username}' - invalid credentials` };
    if (user.loopbackOnly && !isLoopbackAddress(this.peer.localAddress)) {
      return { refused: `user '${result.username}' can only connect via localhost` };
    }
    const c = this.broker.config;
    encodeConnectionTune(this.out, 0, { channelMax: c.channelMax, frameMax: c.frameMax, heartbeat: c.heartbeat });
    this.out.frameDone();
    return { user };
  }

  /** tune-ok: the client's values, refused outside the server's range (validate_negotiated_integer_value). */
  tuneOk(m: ConnectionTuneOk): Tuning {
    const c = this.broker.config;
    negotiate('frame_max', this.broker.personality.frameMinSize, c.frameMax, m.frameMax);
    negotiate('channel_max', 1, c.channelMax, m.channelMax);
    return { frameMax: m.frameMax, channelMax: m.channelMax, heartbeat: m.heartbeat };
  }

  /** connection.open: the virtual host, or 530 when it does not exist; open-ok goes out. */
  open(vhostName: string): VHost {
    const vhost = this.broker.vhosts.get(vhostName);
    if (vhost === undefined) throw notAllowed(`vhost ${vhostName} not found`);
    encodeConnectionOpenOk(this.out, 0, {});
    this.out.frameDone();
    return vhost;
  }
}

/** RabbitMQ's validate_negotiated_integer_value: the server refuses values outside its range. */
function negotiate(field: 'frame_max' | 'channel_max', min: number, serverValue: number, clientValue: number): void {
  const detail = field === 'channel_max' && clientValue === 0 ? ' (no limit)' : '';
  if (clientValue !== 0 && clientValue < min) {
    throw notAllowed(`negotiated ${field} = ${clientValue}${detail} is lower than the minimum allowed value (${min})`).withMethodOf(Method.ConnectionTune);
  }
  if (serverValue !== 0 && (clientValue === 0 || clientValue > serverValue)) {
    throw notAllowed(`negotiated ${field} = ${clientValue}${detail} is higher than the maximum allowed value (${serverValue})`).withMethodOf(Method.ConnectionTune);
  }
}
