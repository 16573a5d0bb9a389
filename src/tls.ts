/**
 * AMQP over TLS (RabbitMQ's listeners.ssl and ssl_options): the node:tls options from the
 * certificate, key and CA files, the peer checks of verify_peer and fail_if_no_peer_cert, and the
 * names of a verified client certificate that SASL EXTERNAL logs in with.
 *
 * RabbitMQ's ssl_options as node:tls has them:
 *   verify_none (the default)               no client certificate is asked for
 *   verify_peer                             one is asked for; one the CA did not sign is refused
 *   verify_peer + fail_if_no_peer_cert      and a client without one is refused
 * node:tls refuses during the handshake only when both a missing and a bad certificate are to be
 * refused (rejectUnauthorized); for verify_peer alone the listener drops a client whose certificate
 * failed verification as soon as its handshake completes (peerRefusal), before any AMQP byte.
 */
import { readFileSync, unwatchFile, watchFile, type Stats } from 'node:fs';
import type { TLSSocket, TlsOptions } from 'node:tls';
import type { BrokerConfig } from './config.js';
import type { PeerCertificateNames } from './connection/broker-context.js';

/** The TLS listener cannot be set up: a file is missing or unreadable, or a setting is missing. */
export class TlsSetupError extends Error {
  override name = 'TlsSetupError';
}

type TlsSettings = Pick<BrokerConfig, 'tlsCertFile' | 'tlsKeyFile' | 'tlsCaFile' | 'tlsVerifyPeer' | 'tlsFailIfNoPeerCert' | 'handshakeTimeoutMs'>;

function read(what: string, flag: string, path: string | undefined): Buffer {
  if (path === undefined) throw new TlsSetupError(`the TLS listener needs ${what}: ${flag} (ssl_options.${flag === '--tls-cert' ? 'certfile' : 'keyfile'} in rabbitmq.conf)`);
  try {
    return readFileSync(path);
  } catch (e) {
    const err = e as NodeJS.ErrnoException;
    throw new TlsSetupError(`cannot read ${what} ${path} (${flag}): ${err.code === 'ENOENT' ? 'it does not exist' : err.message}`);
  }
}

/** The node:tls server options, the files read now (again at each reload). */
export function tlsServerOptions(c: TlsSettings): TlsOptions {
  return {
    cert: read('the certificate', '--tls-cert', c.tlsCertFile),
    key: read('the private key', '--tls-key', c.tlsKeyFile),
    ...(c.tlsCaFile !== undefined ? { ca: read('the CA certificates', '--tls-ca', c.tlsCaFile) } : {}),
    requestCert: c.tlsVerifyPeer,
    rejectUnauthorized: c.tlsVerifyPeer && c.tlsFailIfNoPeerCert,
    handshakeTimeout: c.handshakeTimeoutMs,
  };
}

/** Why verify_peer refuses this connection once its handshake is done, or undefined. */
export function peerRefusal(socket: TLSSocket, c: TlsSettings): string | undefined {
  if (!c.tlsVerifyPeer) return undefined;
  const cert = socket.getPeerX509Certificate();
  if (cert === undefined) return c.tlsFailIfNoPeerCert ? 'no client certificate' : undefined;
  return socket.authorized ? undefined : `client certificate refused: ${String(socket.authorizationError)}`;
}

/** RFC 4514 escaping, as rabbit_cert_info:escape_rdn_value/1 does it. */
function escapeRdnValue(v: string): string {
  let out = v.replace(/[,+"\\<>;]/g, (ch) => `\\${ch}`);
  if (out.startsWith('#') || out.startsWith(' ')) out = `\\${out}`;
  if (out.endsWith(' ') && !out.endsWith('\\ ')) out = `${out.slice(0, -1)}\\ `;
  return out;
}

/**
 * The names of the verified client certificate, or undefined (no certificate, or not verified).
 * The distinguished name as rabbit_cert_info:subject/1 formats it: the RDNs last first, "KEY=value"
 * joined by commas.
 */
export function peerCertificateNames(socket: TLSSocket, c: TlsSettings): PeerCertificateNames | undefined {
  if (!c.tlsVerifyPeer || !socket.authorized) return undefined;
  const cert = socket.getPeerX509Certificate();
  if (cert === undefined) return undefined;
  // node:tls writes the subject one attribute a line, in the certificate's order.
  const attributes = cert.subject.split('\n').filter((l) => l.includes('='));
  const pairs = attributes.map((l) => [l.slice(0, l.indexOf('=')), l.slice(l.indexOf('=') + 1)] as const);
  return {
    commonName: pairs.find(([k]) => k === 'CN')?.[1],
    distinguishedName: pairs
      .map(([k, v]) => `${k}=${escapeRdnValue(v)}`)
      .reverse()
      .join(','),
  };
}

/** What the file watch needs: the three paths and the interval. */
type WatchedFiles = Pick<BrokerConfig, 'tlsCertFile' | 'tlsKeyFile' | 'tlsCaFile' | 'tlsWatchIntervalMs'>;

/**
 * Renewed certificates without a restart: the certificate, key and CA files are polled (stat, which
 * also sees a file replaced by rename or a symlink swapped, as certbot and Kubernetes secrets do)
 * every `tlsWatchIntervalMs`. A change is loaded once no file has changed for one more interval, so
 * a renewal that writes the certificate and the key one after the other is taken as a whole; if the
 * new set cannot be used, `reload` throws, the old context stays, and the next change is tried again.
 */
export function watchTlsFiles(c: WatchedFiles, reload: () => void, onFailure: (e: Error) => void): { stop(): void } {
  const files = [c.tlsCertFile, c.tlsKeyFile, c.tlsCaFile].filter((f): f is string => f !== undefined);
  if (c.tlsWatchIntervalMs === 0 || files.length === 0) return { stop() {} };
  let settle: NodeJS.Timeout | undefined;
  const changed = (curr: Stats, prev: Stats) => {
    if (curr.mtimeMs === prev.mtimeMs && curr.ino === prev.ino && curr.size === prev.size) return;
    clearTimeout(settle);
    settle = setTimeout(() => {
      settle = undefined;
      try {
        reload();
      } catch (e) {
        onFailure(e as Error);
      }
    }, c.tlsWatchIntervalMs);
    settle.unref();
  };
  for (const f of files) watchFile(f, { interval: c.tlsWatchIntervalMs, persistent: false }, changed);
  return {
    stop() {
      clearTimeout(settle);
      for (const f of files) unwatchFile(f, changed);
    },
  };
}
