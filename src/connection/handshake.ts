/**
 * The connection-class handshake (rabbit_reader): connection.start with the server properties,
 * start-ok with the SASL response and the login, tune and tune-ok with RabbitMQ's negotiation rules,
 * and connection.open of a virtual host. Only the steps: the connection keeps the state, decides
 * what may arrive when, and turns errors into replies (or RabbitMQ's silent close).
 */
import type { Logger } from 'pino';
import type { AccessGrant, AuthenticatedUser } from '../access/access-database.js';
import { checkVhostAccess } from '../access/permissions.js';
import { chosenMechanism, isLoopbackAddress, offeredMechanisms, type SaslMechanism } from '../auth.js';
import { accessRefusedReply, commandInvalid, notAllowed, syntaxError } from '../errors.js';
import type { FieldTable } from '../protocol/field-table.js';
import {
  Method,
  encodeConnectionClose,
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
export type LoginResult = { readonly user: AuthenticatedUser } | { readonly refused: string };

export class Handshake {
  /** The client's capability flags (connection.start-ok client-properties.capabilities). */
  capabilities: FieldTable = new Map();
  clientProperties: FieldTable = new Map();
  /** The SASL mechanism the client chose (for the log and the refusal text). */
  mechanism = '';
  private readonly offered: readonly SaslMechanism[];

  constructor(
    private readonly out: Outbound,
    private readonly broker: BrokerContext,
    private readonly peer: PeerInfo,
  ) {
    this.offered = offeredMechanisms(broker.config.authMechanisms, peer.certificate !== undefined);
  }

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
      mechanisms: Buffer.from(this.offered.map((m) => m.name).join(' ')),
      locales: Buffer.from('en_US'),
    });
    this.out.frameDone();
  }

  /** start-ok: the mechanism's response checked against the users; on success connection.tune goes out. */
  startOk(m: ConnectionStartOk): LoginResult {
    this.clientProperties = m.clientProperties;
    const caps = m.clientProperties.get('capabilities');
    this.capabilities = caps !== undefined && caps.type === 'F' ? caps.value : new Map();
    const mechanism = chosenMechanism(m.mechanism, this.offered);
    if ('error' in mechanism) throw commandInvalid(mechanism.error);
    this.mechanism = mechanism.name;
    const result = mechanism.handleResponse(m.response);
    if (result.kind === 'protocol-error') throw syntaxError(result.explanation);
    // rabbit_reader:auth_phase/2: the login (rabbit_access_control:check_user_login/2), then the
    // loopback restriction (check_user_loopback/2).
    const login = result.kind === 'certificate' ? this.certificateLogin() : this.broker.access.authenticate(result.username, result.password);
    if (!login.ok) return this.refused(login.reason);
    const user = login.user;
    if (this.broker.access.isLoopbackOnly(user.name) && !isLoopbackAddress(this.peer.localAddress)) {
      return this.refused(`user '${user.name}' can only connect via localhost`);
    }
    this.broker.authAttempts.succeeded('amqp091');
    const c = this.broker.config;
    encodeConnectionTune(this.out, 0, { channelMax: c.channelMax, frameMax: c.frameMax, heartbeat: c.heartbeat });
    this.out.frameDone();
    return { user };
  }

  /** A refused login is counted (the same whatever was wrong) before the connection reports it. */
  private refused(reason: string): LoginResult {
    this.broker.authAttempts.failed('amqp091');
    return { refused: reason };
  }

  /**
   * Refused credentials: the log says why, the client only that the login was refused (and only if
   * it advertises authentication_failure_close). The connection then closes after the silent-close pause.
   */
  reportRefusedLogin(reason: string, log: Logger): void {
    log.error(`${this.mechanism} login refused: ${reason}`);
    if (!this.hasCapability('authentication_failure_close')) return;
    const reply = accessRefusedReply(`Login was refused using authentication mechanism ${this.mechanism}. For details see the broker logfile.`);
    encodeConnectionClose(this.out, 0, { replyCode: reply.code, replyText: reply.text, classId: 0, methodId: 0 });
    this.out.frameDone();
  }

  /**
   * EXTERNAL: the user named by the certificate (ssl_cert_login_from: its distinguished name, as
   * RabbitMQ by default, or its common name) must exist; it needs no password.
   */
  private certificateLogin() {
    const names = this.peer.certificate!;
    const name = this.broker.config.sslCertLoginFrom === 'common_name' ? names.commonName : names.distinguishedName;
    if (name === undefined) return { ok: false as const, reason: 'the client certificate has no common name (ssl_cert_login_from = common_name)' };
    return this.broker.access.authenticateExternal(name);
  }

  /** tune-ok: the client's values, refused outside the server's range (validate_negotiated_integer_value). */
  tuneOk(m: ConnectionTuneOk): Tuning {
    const c = this.broker.config;
    negotiate('frame_max', this.broker.personality.frameMinSize, c.frameMax, m.frameMax);
    negotiate('channel_max', 1, c.channelMax, m.channelMax);
    // channel_max 0 is "no limit": the channel number's own range (a server offering 0 accepts it).
    return { frameMax: m.frameMax, channelMax: m.channelMax === 0 ? 65535 : m.channelMax, heartbeat: m.heartbeat };
  }

  /**
   * connection.open: the vhost's and the user's connection limits and the user's access to the vhost
   * (530 for each, checkVhostAccess), then open-ok. The grant is what the channels check against.
   */
  open(vhostName: string, user: AuthenticatedUser): { vhost: VHost; grant: AccessGrant } {
    const grant = checkVhostAccess(this.broker.access, user, vhostName, this.broker.connectionCounts(vhostName, user.name));
    const vhost = this.broker.vhosts.get(vhostName);
    if (vhost === undefined) throw notAllowed(`vhost ${vhostName} not found`);
    encodeConnectionOpenOk(this.out, 0, {});
    this.out.frameDone();
    return { vhost, grant };
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
