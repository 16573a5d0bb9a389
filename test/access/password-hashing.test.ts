import { describe, expect, it } from 'vitest';
import {
  algorithmForImportedHash,
  decodePasswordHash,
  encodePasswordHash,
  hashPassword,
  isHashingAlgorithm,
  saltedHash,
  verifyPassword,
  type HashingAlgorithm,
} from '../../src/access/password-hashing.js';
import fixture from './fixtures/password-hashes.rabbitmq-3.10.8.json' with { type: 'json' };

interface RabbitHash {
  user: string;
  password: string | null;
  hashing_algorithm: string;
  password_hash: string;
}

describe('hashes made by RabbitMQ 3.10.8', () => {
  for (const h of fixture.rabbitmq as RabbitHash[]) {
    if (h.password === null) continue;
    it(`${h.user} (${h.hashing_algorithm}) verifies its password and nothing else`, () => {
      const algorithm = h.hashing_algorithm as HashingAlgorithm;
      const stored = decodePasswordHash(h.password_hash)!;
      expect(verifyPassword(h.password!, stored, algorithm)).toBe(true);
      expect(verifyPassword(`${h.password}x`, stored, algorithm)).toBe(false);
    });
  }

  it('the empty hash of a user whose password was cleared matches no password, not even the empty one', () => {
    const cleared = (fixture.rabbitmq as RabbitHash[]).find((h) => h.user === 'ext-user')!;
    const stored = decodePasswordHash(cleared.password_hash)!;
    expect(stored.length).toBe(0);
    expect(verifyPassword('', stored, 'rabbit_password_hashing_sha256')).toBe(false);
    expect(verifyPassword('anything', stored, 'rabbit_password_hashing_sha256')).toBe(false);
  });

  it('the password is hashed as its UTF-8 bytes', () => {
    const carol = (fixture.rabbitmq as RabbitHash[]).find((h) => h.user === 'carol')!;
    const stored = decodePasswordHash(carol.password_hash)!;
    expect(verifyPassword(Buffer.from('pässwörd', 'utf8'), stored, 'rabbit_password_hashing_sha256')).toBe(true);
    expect(verifyPassword(Buffer.from('pässwörd', 'latin1'), stored, 'rabbit_password_hashing_sha256')).toBe(false);
  });
});

describe('hashes made by Warren', () => {
  for (const w of fixture.warren) {
    it(`${w.user}: the hash that logged in on RabbitMQ is what hashPassword gives for its salt`, () => {
      const made = hashPassword(w.password, w.hashing_algorithm as HashingAlgorithm, Buffer.from(w.salt, 'hex'));
      expect(encodePasswordHash(made)).toBe(w.password_hash);
      expect(w.loggedInOnRabbitMQ).toBe(true);
    });
  }

  it('is salt ++ H(salt ++ password), with a fresh 4-byte salt each time', () => {
    const a = hashPassword('p');
    const b = hashPassword('p');
    expect(a.length).toBe(4 + 32);
    expect(a.equals(b)).toBe(false);
    expect(a.subarray(4).equals(saltedHash('rabbit_password_hashing_sha256', a.subarray(0, 4), 'p'))).toBe(true);
    expect(hashPassword('p', 'rabbit_password_hashing_sha512').length).toBe(4 + 64);
    expect(hashPassword('p', 'rabbit_password_hashing_md5').length).toBe(4 + 16);
  });

  it('refuses a salt that is not 4 bytes', () => {
    expect(() => hashPassword('p', 'rabbit_password_hashing_sha256', Buffer.alloc(3))).toThrow(RangeError);
  });

  it('checks with the algorithm it is given: a SHA-256 hash does not verify as SHA-512', () => {
    const h = hashPassword('p', 'rabbit_password_hashing_sha256');
    expect(verifyPassword('p', h, 'rabbit_password_hashing_sha512')).toBe(false);
  });
});

describe('algorithm of an imported hash (hashing_algorithm/2)', () => {
  it('uses the field when present', () => {
    expect(algorithmForImportedHash('rabbit_password_hashing_sha512', '3.10.8')).toBe('rabbit_password_hashing_sha512');
    expect(algorithmForImportedHash('rabbit_password_hashing_md5', undefined)).toBe('rabbit_password_hashing_md5');
  });
  it('refuses an algorithm module Warren does not have', () => {
    expect(algorithmForImportedHash('my_custom_hashing', '3.10.8')).toBeUndefined();
    expect(algorithmForImportedHash(42, '3.10.8')).toBeUndefined();
  });
  it('without the field: MD5 for 3.0-3.5 exports, SHA-256 for 3.6.0 and anything else', () => {
    expect(algorithmForImportedHash(undefined, fixture.legacyImport.rabbit_version)).toBe(fixture.legacyImport.storedAs);
    expect(algorithmForImportedHash(undefined, '3.0.4')).toBe('rabbit_password_hashing_md5');
    expect(algorithmForImportedHash(undefined, '3.6.0')).toBe('rabbit_password_hashing_sha256');
    expect(algorithmForImportedHash(undefined, '3.6.1')).toBe('rabbit_password_hashing_sha256');
    expect(algorithmForImportedHash(undefined, '3.50.0')).toBe('rabbit_password_hashing_sha256');
    expect(algorithmForImportedHash(undefined, undefined)).toBe('rabbit_password_hashing_sha256');
  });
  it('the legacy import logs in with its password under the algorithm chosen for it', () => {
    const l = fixture.legacyImport;
    const algorithm = algorithmForImportedHash(undefined, l.rabbit_version)!;
    expect(verifyPassword(l.password, decodePasswordHash(l.password_hash)!, algorithm)).toBe(true);
  });
});

describe('password_hash text', () => {
  it('round-trips base64', () => {
    const h = hashPassword('x');
    expect(decodePasswordHash(encodePasswordHash(h))!.equals(h)).toBe(true);
    expect(decodePasswordHash('')!.length).toBe(0);
  });
  it('refuses text that is not base64 instead of decoding part of it', () => {
    for (const bad of ['abc', 'ab!d', 'YWJj\n', 'YW Jj', '====', 'YQ=']) expect(decodePasswordHash(bad)).toBeUndefined();
  });
  it('knows the three algorithms by their RabbitMQ module names', () => {
    expect(isHashingAlgorithm('rabbit_password_hashing_sha256')).toBe(true);
    expect(isHashingAlgorithm('sha256')).toBe(false);
  });
});
