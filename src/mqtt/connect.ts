/**
 * CONNECT, as RabbitMQ 3.10's plugin answers it (rabbit_mqtt_processor:process_request(?CONNECT),
 * creds/3, process_login/4, maybe_clean_sess/1), checks in its order, each refusal a CONNACK with
 * its return code and then the connection closed (a protocol level other than 3, MQTT 3.1.0, or 4,
 * 3.1.1, is closed without a CONNACK, as 3.10.8 does):
 *
 *   2  an empty client id with clean session off (an empty one with clean session on gets a
 *      generated id)
 *   4  no credentials and anonymous access off; a user name without a password or the reverse;
 *      the vhost does not exist; wrong user name or password
 *   5  the user may not use the vhost (no permissions, a connection limit), or may connect only
 *      from loopback
 *   3  the session could not be set up (the user may not declare or delete its queue)
 *
 * The vhost is the part of the user name before its last colon ("vhost:user"), else mqtt.vhost.
 * Without credentials, mqtt.allow_anonymous logs in as mqtt.default_user (RabbitMQ's default: on,
 * as guest). Accepted, an earlier connection with the same client id is closed (takeover).
 */
import { randomBytes } from 'node:crypto';
import type { IConnectPacket } from 'mqtt-packet';
import type { AuthenticatedUser } from '../access/access-database.js';
import { ChannelAccess, checkVhostAccess } from '../access/permissions.js';
import { isLoopbackAddress } from '../auth.js';
import { AmqpError } from '../errors.js';
import type { MqttClient, WillMessage } from './client.js';
import { Session } from './session.js';
import { vhostFromUsername } from './topics.js';
import { MAX_SESSION_EXPIRY_SECONDS, RC, TOPIC_ALIAS_MAXIMUM, connectReasonCode, type PublishProperties } from './v5.js';

const CONNACK_ACCEPTED = 0;
const CONNACK_IDENTIFIER_REJECTED = 2;
const CONNACK_SERVER_UNAVAILABLE = 3;
const CONNACK_BAD_CREDENTIALS = 4;
const CONNACK_NOT_AUTHORIZED = 5;

class Refused extends Error {
  constructor(
    readonly returnCode: number,
    readonly reason: string,
    /** A connection limit (MQTT 5: 0x97 quota exceeded). */
    readonly quota = false,
  ) {
    super(reason);
  }
}

export function handleConnect(client: MqttClient, p: IConnectPacket): void {
  const version = p.protocolVersion ?? 4;
  // mqtt-packet parses levels 3, 4 and 5. RabbitMQ 3.10 has 3 and 4; its frame parser refuses any
  // other level before the processor could answer with CONNACK 1, so the connection just closes
  // (recorded on 3.10.8 for levels 2, 5 and 6). MQTT 5 is there from 3.13 on.
  const v5 = version === 5 && client.service.broker.personality.version !== '3.10';
  if (version !== 3 && version !== 4 && !v5) return client.protocolError(`MQTT protocol error: unsupported protocol version ${version}`);
  client.protocolVersion = version;
  try {
    const { sessionPresent, sessionExpiry, generatedId } = accept(client, p);
    if (v5) client.send({ cmd: 'connack', reasonCode: RC.SUCCESS, sessionPresent, properties: connackProperties(client, sessionExpiry, generatedId) });
    else client.send({ cmd: 'connack', returnCode: CONNACK_ACCEPTED, sessionPresent });
    client.session!.start();
    client.log.info({ clientId: client.clientId, user: client.userName, vhost: client.vhostName, protocolVersion: version, cleanSession: p.clean !== false, sessionPresent }, 'MQTT connection accepted');
  } catch (e) {
    if (!(e instanceof Refused)) throw e;
    client.session?.close();
    client.session = undefined;
    client.will = undefined;
    client.log.error({ clientId: p.clientId, returnCode: e.returnCode }, `MQTT login refused: ${e.reason}`);
    if (v5) client.send({ cmd: 'connack', reasonCode: connectReasonCode(e.returnCode, e.quota), sessionPresent: false });
    else client.send({ cmd: 'connack', returnCode: e.returnCode, sessionPresent: false });
    client.close(e.reason);
  }
}

/** The CONNACK properties RabbitMQ's MQTT 5 sends (process_connect/5's Props0). */
function connackProperties(client: MqttClient, sessionExpiry: number, generatedId: boolean): Record<string, unknown> {
  return {
    maximumQoS: 1,
    topicAliasMaximum: TOPIC_ALIAS_MAXIMUM,
    maximumPacketSize: client.service.settings.maxPacketSize,
    sharedSubscriptionAvailable: false,
    sessionExpiryInterval: sessionExpiry,
    ...(generatedId ? { assignedClientIdentifier: client.clientId } : {}),
  };
}

/** MQTT 5's Session Expiry Interval (absent: 0; 0xFFFFFFFF and anything larger capped at the maximum). */
function sessionExpiryOf(p: IConnectPacket, v5: boolean, clean: boolean): number {
  if (!v5) return clean ? 0 : MAX_SESSION_EXPIRY_SECONDS;
  return Math.min(p.properties?.sessionExpiryInterval ?? 0, MAX_SESSION_EXPIRY_SECONDS);
}

/** The checks in RabbitMQ's order; returns whether a session was present, or throws Refused. */
function accept(client: MqttClient, p: IConnectPacket): { sessionPresent: boolean; sessionExpiry: number; generatedId: boolean } {
  const clean = p.clean !== false;
  const v5 = client.protocolVersion === 5;
  // MQTT 5 assigns an id whatever Clean Start says (ensure_client_id/3).
  if (p.clientId === '' && !clean && !v5) throw new Refused(CONNACK_IDENTIFIER_REJECTED, 'an empty client id needs clean session');
  const generatedId = p.clientId === '';
  client.clientId = generatedId ? randomBytes(16).toString('base64url').slice(0, 22) : p.clientId;
  const { user, vhostName } = login(client, p);
  const service = client.service;
  const broker = service.broker;
  let access: ChannelAccess;
  try {
    const grant = checkVhostAccess(broker.access, user, vhostName, broker.connectionCounts(vhostName, user.name));
    access = new ChannelAccess(grant, user, { username: user.name, vhost: vhostName, client_id: client.clientId });
  } catch (e) {
    if (e instanceof AmqpError) throw new Refused(CONNACK_NOT_AUTHORIZED, e.explanation, e.explanation.includes('connection limit'));
    throw e;
  }
  if (broker.access.isLoopbackOnly(user.name) && !isLoopbackAddress(client.peer.localAddress)) {
    throw new Refused(CONNACK_NOT_AUTHORIZED, `user '${user.name}' can only connect via localhost`);
  }
  client.userName = user.name;
  client.vhostName = vhostName;
  const sessionExpiry = sessionExpiryOf(p, v5, clean);
  const props = p.properties;
  if (v5) {
    client.v5 = {
      maxPacketSizeOut: props?.maximumPacketSize ?? Number.POSITIVE_INFINITY,
      topicAliasMaxOut: Math.min(props?.topicAliasMaximum ?? 0, TOPIC_ALIAS_MAXIMUM),
      aliasesIn: new Map(),
      aliasesOut: new Map(),
    };
  }
  service.claimClientId(client);
  client.state = 'connected';
  client.startKeepAlive(p.keepalive ?? 0);
  // Receive Maximum caps the unacknowledged QoS 1 deliveries as mqtt.prefetch does (prefetch/1).
  const settings = {
    exchange: service.settings.exchange,
    prefetch: Math.min(service.settings.prefetch, props?.receiveMaximum ?? 65535),
    qos0Exclusive: broker.personality.version !== '3.10',
  };
  const session = new Session(client, broker.vhosts.get(vhostName)!, access, sessionExpiry === 0, settings, broker.access, v5 ? sessionExpiry : undefined);
  client.session = session;
  if (p.will !== undefined) client.will = willOf(p, sessionExpiry);
  return { sessionPresent: startSession(session, clean), sessionExpiry, generatedId };
}

function willOf(p: IConnectPacket, sessionExpiry: number): WillMessage {
  const w = p.will!;
  const payload = typeof w.payload === 'string' ? Buffer.from(w.payload) : w.payload;
  const { willDelayInterval, ...properties } = w.properties ?? {};
  return {
    topic: w.topic,
    payload,
    qos: w.qos === 0 || w.qos === undefined ? 0 : 1,
    retain: w.retain === true,
    properties: properties as PublishProperties,
    // The will goes out at the latest when the session ends.
    delaySeconds: Math.min(willDelayInterval ?? 0, sessionExpiry),
  };
}

/**
 * creds/3, then the vhost and the login of the direct connection. A user name and password win; with
 * mqtt.ssl_cert_login on, a client without them whose TLS certificate was verified logs in as the
 * certificate's name (ssl_cert_login_from: its distinguished name or CN), without a password, as
 * SASL EXTERNAL does; else anonymous logins use mqtt.default_user.
 */
function login(client: MqttClient, p: IConnectPacket): { user: AuthenticatedUser; vhostName: string } {
  const settings = client.service.settings;
  const hasUser = p.username !== undefined;
  const hasPass = p.password !== undefined;
  const certificateName = settings.sslCertLogin ? certificateLoginName(client) : undefined;
  let username: string;
  let password: Buffer | undefined;
  if (hasUser && hasPass) {
    username = p.username!;
    password = p.password!;
  } else if (hasUser || hasPass) {
    throw new Refused(CONNACK_BAD_CREDENTIALS, hasUser ? `no password provided for user '${p.username}'` : 'no username is provided');
  } else if (certificateName !== undefined) {
    username = certificateName;
  } else if (settings.allowAnonymous) {
    username = settings.defaultUser;
    password = Buffer.from(settings.defaultPass, 'utf8');
  } else {
    throw new Refused(CONNACK_BAD_CREDENTIALS, 'no credentials provided');
  }
  const { vhost: vhostName, user: name } = vhostOf(client, username);
  const db = client.service.broker.access;
  if (db.vhost(vhostName) === undefined || !client.service.broker.vhosts.has(vhostName)) {
    throw new Refused(CONNACK_BAD_CREDENTIALS, `virtual host '${vhostName}' does not exist`);
  }
  const result = password === undefined ? db.authenticateExternal(name) : db.authenticate(name, password);
  if (!result.ok) throw new Refused(CONNACK_BAD_CREDENTIALS, `authentication failed: ${result.reason}`);
  return { user: result.user, vhostName };
}

/** ssl_login_name/1: the verified client certificate's name, as rabbit's ssl_cert_login_from picks it. */
function certificateLoginName(client: MqttClient): string | undefined {
  const cert = client.peer.certificate;
  if (cert === undefined) return undefined;
  return client.service.broker.config.sslCertLoginFrom === 'common_name' ? cert.commonName : cert.distinguishedName;
}

/**
 * get_vhost_no_ssl/2: "vhost:user" names the vhost; else the global runtime parameter
 * mqtt_port_to_vhost_mapping ({"1883": "vhost", ...}) maps the port the client connected to; else
 * mqtt.vhost.
 */
function vhostOf(client: MqttClient, username: string): { vhost: string; user: string } {
  const settings = client.service.settings;
  if (username.includes(':')) return vhostFromUsername(username, settings.vhost);
  const mapping = client.service.broker.globalParameters.get('mqtt_port_to_vhost_mapping');
  const port = client.peer.localPort;
  if (port !== undefined && mapping !== null && typeof mapping === 'object' && !Array.isArray(mapping)) {
    const mapped = (mapping as Record<string, unknown>)[String(port)];
    if (typeof mapped === 'string') return { vhost: mapped, user: username };
  }
  return { vhost: settings.vhost, user: username };
}

/**
 * maybe_clean_sess/1. A persistent session finds its QoS 1 queue and consumes from it again
 * (session present); a clean one deletes it. Both need the user's permissions: without them, 3.
 */
function startSession(session: Session, clean: boolean): boolean {
  const present = session.hasQos1Queue();
  if (!present) return false;
  try {
    if (clean) session.deleteQos1Queue();
    else session.ensureQueue(1);
  } catch (e) {
    if (e instanceof AmqpError) throw new Refused(CONNACK_SERVER_UNAVAILABLE, `the session cannot be ${clean ? 'cleaned' : 'recovered'}: ${e.replyText}`);
    throw e;
  }
  return !clean;
}
