/**
 * Password hashes exactly as RabbitMQ's internal backend stores them, so that a `password_hash` from
 * a RabbitMQ definitions export logs in unchanged, and one Warren writes logs in on RabbitMQ.
 *
 * rabbit_password:hash/2: a 4-byte random salt, then H(salt ++ password); the stored value is
 * salt ++ digest, and definitions carry it base64-encoded. H is named by the user's
 * `hashing_algorithm`: rabbit_password_hashing_sha256 (the default since 3.6.0), _sha512, or _md5
 * (definitions from before 3.6 carry no algorithm; see `algorithmForImportedHash`).
 *
 * Checking (rabbit_auth_backend_internal:user_login_authentication/2): the stored hash is split after
 * four bytes and the rest compared with H(salt ++ given password). A hash shorter than four bytes (the
 * empty hash of a user without password) matches nothing.
 */
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';

const HASHING_ALGORITHMS = [
  'rabbit_password_hashing_sha256',
  'rabbit_password_hashing_sha512',
  'rabbit_password_hashing_md5',
] as const;

export type HashingAlgorithm = (typeof HASHING_ALGORITHMS)[number];

/** RabbitMQ's default `password_hashing_module`. */
export const DEFAULT_HASHING_ALGORITHM: HashingAlgorithm = 'rabbit_password_hashing_sha256';

const DIGEST: Readonly<Record<HashingAlgorithm, string>> = {
  rabbit_password_hashing_sha256: 'sha256',
  rabbit_password_hashing_sha512: 'sha512',
  rabbit_password_hashing_md5: 'md5',
};

const SALT_BYTES = 4;

export function isHashingAlgorithm(name: unknown): name is HashingAlgorithm {
  return typeof name === 'string' && (HASHING_ALGORITHMS as readonly string[]).includes(name);
}

const bytes = (password: string | Buffer): Buffer => (typeof password === 'string' ? Buffer.from(password, 'utf8') : password);

/** rabbit_password:salted_hash/3: H(salt ++ password). */
export function saltedHash(algorithm: HashingAlgorithm, salt: Buffer, password: string | Buffer): Buffer {
  return createHash(DIGEST[algorithm]).update(salt).update(bytes(password)).digest();
}

/** rabbit_password:hash/2: salt ++ H(salt ++ password), with a fresh random salt unless one is given. */
export function hashPassword(
  password: string | Buffer,
  algorithm: HashingAlgorithm = DEFAULT_HASHING_ALGORITHM,
  salt: Buffer = randomBytes(SALT_BYTES),
): Buffer {
  if (salt.length !== SALT_BYTES) throw new RangeError(`a password salt is ${SALT_BYTES} bytes, got ${salt.length}`);
  return Buffer.concat([salt, saltedHash(algorithm, salt, password)]);
}

/** Whether `password` is the one `storedHash` (salt ++ digest) was made from. Constant time in the digest. */
export function verifyPassword(password: string | Buffer, storedHash: Buffer, algorithm: HashingAlgorithm): boolean {
  if (storedHash.length < SALT_BYTES) return false;
  const expected = storedHash.subarray(SALT_BYTES);
  const given = saltedHash(algorithm, storedHash.subarray(0, SALT_BYTES), password);
  return expected.length === given.length && timingSafeEqual(expected, given);
}

/**
 * A hash of the same cost as a real check, for an unknown user: running it keeps the time a refused
 * login takes from telling whether the name exists.
 */
export function burnPasswordCheck(password: string | Buffer): void {
  saltedHash(DEFAULT_HASHING_ALGORITHM, Buffer.alloc(SALT_BYTES), password);
}

const BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;

/**
 * The bytes of a `password_hash` field (rabbit_misc:b64decode_or_throw). Node's decoder skips what is
 * not base64, so the text is checked first: a mangled hash is refused, not silently shortened.
 */
export function decodePasswordHash(text: string): Buffer | undefined {
  return BASE64.test(text) ? Buffer.from(text, 'base64') : undefined;
}

export function encodePasswordHash(hash: Buffer): string {
  return hash.toString('base64');
}

/**
 * rabbit_auth_backend_internal:hashing_algorithm/2: the algorithm of an imported `password_hash`.
 * With no `hashing_algorithm` field, files exported by 3.0-3.5 mean MD5 and 3.6.0 means SHA-256
 * (3.6.1 and later always write the field); any other version means the node's default.
 * Returns undefined for a named algorithm Warren does not have (RabbitMQ would load a module of that
 * name; Warren has no plugins, so the user could never log in).
 */
export function algorithmForImportedHash(field: unknown, rabbitVersion: string | undefined): HashingAlgorithm | undefined {
  if (field !== undefined) return isHashingAlgorithm(field) ? field : undefined;
  if (rabbitVersion === '3.6.0') return 'rabbit_password_hashing_sha256';
  if (rabbitVersion !== undefined && /^3\.[0-5]\./.test(rabbitVersion)) return 'rabbit_password_hashing_md5';
  return DEFAULT_HASHING_ALGORITHM;
}
