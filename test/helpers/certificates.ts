/**
 * Certificates made at test time with openssl: a CA, a server certificate for localhost and
 * 127.0.0.1, client certificates it signs, and a client certificate from another CA (which the
 * server must refuse). EC keys, so that making them takes milliseconds.
 */
import { execFileSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

export interface Pem {
  readonly cert: Buffer;
  readonly key: Buffer;
  readonly certFile: string;
  readonly keyFile: string;
}

export interface TestCertificates {
  readonly caFile: string;
  readonly ca: Buffer;
  readonly server: Pem;
  /** CN=tls-user, O=Warren Test, signed by the CA. */
  readonly client: Pem;
  /** CN=tls-user, signed by another CA. */
  readonly stranger: Pem;
  /** Another server certificate (for reloading). */
  makeServer(name: string): Pem;
}

const openssl = (args: string[]) => execFileSync('openssl', args, { stdio: ['ignore', 'pipe', 'pipe'] });

export function makeCertificates(dir: string): TestCertificates {
  const caKey = join(dir, 'ca.key');
  const caFile = join(dir, 'ca.pem');
  const ecKey = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'];
  openssl(['req', '-x509', ...ecKey, '-keyout', caKey, '-out', caFile, '-days', '2', '-subj', '/CN=Warren Test CA']);
  const otherKey = join(dir, 'other-ca.key');
  const otherCa = join(dir, 'other-ca.pem');
  openssl(['req', '-x509', ...ecKey, '-keyout', otherKey, '-out', otherCa, '-days', '2', '-subj', '/CN=Other CA']);
  const issue = (name: string, subject: string, signer: [string, string], extensions: string): Pem => {
    const keyFile = join(dir, `${name}.key`);
    const csr = join(dir, `${name}.csr`);
    const certFile = join(dir, `${name}.pem`);
    const ext = join(dir, `${name}.ext`);
    writeFileSync(ext, extensions);
    openssl(['req', '-new', ...ecKey, '-keyout', keyFile, '-out', csr, '-subj', subject]);
    openssl(['x509', '-req', '-in', csr, '-CA', signer[0], '-CAkey', signer[1], '-CAcreateserial', '-out', certFile, '-days', '2', '-extfile', ext]);
    return { certFile, keyFile, cert: readFileSync(certFile), key: readFileSync(keyFile) };
  };
  const makeServer = (name: string) => issue(name, '/CN=localhost', [caFile, caKey], 'subjectAltName=DNS:localhost,IP:127.0.0.1\nextendedKeyUsage=serverAuth\n');
  return {
    caFile,
    ca: readFileSync(caFile),
    server: makeServer('server'),
    client: issue('client', '/O=Warren Test/CN=tls-user', [caFile, caKey], 'extendedKeyUsage=clientAuth\n'),
    stranger: issue('stranger', '/CN=tls-user', [otherCa, otherKey], 'extendedKeyUsage=clientAuth\n'),
    makeServer,
  };
}
