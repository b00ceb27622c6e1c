// Reproducible RSA keys for the simulation: the same seed gives the same key,
// byte for byte, so certificates (and the trace) depend only on the run's seed.
//
// Why not node-forge's own generator with a seeded prng: it is pure
// JavaScript, 0.75–1.9 s per 2048-bit key (measured, Node 20, 2 cores),
// against ~0.11 s for node:crypto. Here the candidates come from a SHA-256
// counter-mode stream over the seed, small factors are sieved out in JS, and
// node:crypto's native `checkPrimeSync` (OpenSSL's Miller–Rabin) tests what is
// left: ~50 ms per key (measured, 10 seeds: 36–71 ms). Its verdict is
// deterministic for all practical purposes: it never rejects a prime, and it
// accepts a composite with probability below 2^-128.
//
// This is a simulation key generator. It follows the usual construction
// (random odd start with the top two bits set, incremental search, e coprime
// to p-1), but real hosts use `nodeCryptoKeySource` (OpenSSL) instead.
import { checkPrimeSync, createHash } from 'node:crypto';
import forge from 'node-forge';
import type { Random } from '../platform/types.js';
import { RSA_BITS, RSA_PUBLIC_EXPONENT, rsaKeyPairFromPrivateKey, type KeySource, type RsaKeyPair } from './key-source.js';

const SEED_BYTES = 32;
const E = BigInt(RSA_PUBLIC_EXPONENT);
/** Odd primes below 17,389 (the first 2,000): sieving by them rejects ~93% of candidates before any big-number work. */
const SMALL_PRIMES = oddPrimes(2000);
/** Candidates tried per prime before giving up: 1,000,000 steps of 2 is far beyond the ~700 gap expected at 1024 bits. */
const PRIME_SEARCH_STEPS_MAX = 1_000_000;

/**
 * Keys drawn from `random` (the host's seeded stream in the simulation): each
 * key consumes 32 bytes of it as its seed. Keys already derived in this
 * process are reused from a small cache, so a test that runs a scenario twice
 * pays for each key once.
 */
export function seededKeySource(random: Random): KeySource {
  return {
    generateRsaKey: () => Promise.resolve(deriveRsaKey(random.bytes(SEED_BYTES))),
  };
}

const CACHE_ENTRIES_MAX = 256;
const cache = new Map<string, RsaKeyPair>();

/** The RSA-2048 key a 32-byte seed stands for. Pure: same seed, same key (`useCache: false` proves it without the cache). */
export function deriveRsaKey(seed: Buffer, options: { useCache?: boolean } = {}): RsaKeyPair {
  if (seed.length !== SEED_BYTES) throw new RangeError(`seed must be ${SEED_BYTES} bytes, got ${seed.length}`);
  const cacheKey = seed.toString('hex');
  const cached = options.useCache === false ? undefined : cache.get(cacheKey);
  if (cached !== undefined) return cached;
  const stream = new HashStream(seed);
  const primeBits = RSA_BITS / 2;
  let p = findPrime(stream, primeBits);
  let q = findPrime(stream, primeBits);
  while (p === q) q = findPrime(stream, primeBits);
  if (p < q) [p, q] = [q, p];
  const n = p * q;
  if (n.toString(2).length !== RSA_BITS) throw new Error(`seeded RSA: modulus has ${n.toString(2).length} bits`);
  const lambda = lcm(p - 1n, q - 1n);
  const d = modInverse(E, lambda);
  const privateKey = forge.pki.setRsaPrivateKey(
    big(n), big(E), big(d), big(p), big(q), big(d % (p - 1n)), big(d % (q - 1n)), big(modInverse(q, p)),
  );
  const pair = rsaKeyPairFromPrivateKey(privateKey);
  if (cache.size >= CACHE_ENTRIES_MAX) cache.delete(cache.keys().next().value as string);
  cache.set(cacheKey, pair);
  return pair;
}

/** SHA-256 in counter mode over the seed: a deterministic byte stream. */
class HashStream {
  #counter = 0;
  constructor(private readonly seed: Buffer) {}

  bytes(length: number): Buffer {
    const blocks: Buffer[] = [];
    for (let have = 0; have < length; have += 32) {
      const counter = Buffer.alloc(4);
      counter.writeUInt32BE(this.#counter++);
      blocks.push(createHash('sha256').update('pf9lab/sim-rsa/v1').update(this.seed).update(counter).digest());
    }
    return Buffer.concat(blocks).subarray(0, length);
  }
}

function findPrime(stream: HashStream, bits: number): bigint {
  const start = stream.bytes(bits / 8);
  // Top two bits set: the product of two such primes has exactly 2·bits bits. Odd.
  start[0] = (start[0] ?? 0) | 0xc0;
  start[start.length - 1] = (start[start.length - 1] ?? 0) | 0x01;
  const base = BigInt(`0x${start.toString('hex')}`);
  const residues = SMALL_PRIMES.map((prime) => Number(base % BigInt(prime)));
  for (let step = 0; step < PRIME_SEARCH_STEPS_MAX; step += 2) {
    if (hasSmallFactor(residues, step)) continue;
    const candidate = base + BigInt(step);
    if ((candidate - 1n) % E !== 0n && checkPrimeSync(candidate)) return candidate;
  }
  throw new Error(`seeded RSA: no prime within ${PRIME_SEARCH_STEPS_MAX} steps`);
}

function hasSmallFactor(residues: readonly number[], step: number): boolean {
  for (let i = 0; i < residues.length; i++) {
    if (((residues[i] ?? 0) + step) % (SMALL_PRIMES[i] ?? 1) === 0) return true;
  }
  return false;
}

function oddPrimes(count: number): number[] {
  const primes: number[] = [];
  for (let candidate = 3; primes.length < count; candidate += 2) {
    if (primes.every((prime) => prime * prime > candidate || candidate % prime !== 0)) primes.push(candidate);
  }
  return primes;
}

function gcd(a: bigint, b: bigint): bigint {
  while (b !== 0n) [a, b] = [b, a % b];
  return a;
}

function lcm(a: bigint, b: bigint): bigint {
  return (a / gcd(a, b)) * b;
}

function modInverse(a: bigint, modulus: bigint): bigint {
  let [oldR, r] = [a % modulus, modulus];
  let [oldS, s] = [1n, 0n];
  while (r !== 0n) {
    const quotient = oldR / r;
    [oldR, r] = [r, oldR - quotient * r];
    [oldS, s] = [s, oldS - quotient * s];
  }
  if (oldR !== 1n) throw new Error('seeded RSA: not invertible');
  return ((oldS % modulus) + modulus) % modulus;
}

function big(value: bigint): forge.jsbn.BigInteger {
  return new forge.jsbn.BigInteger(value.toString(16), 16);
}
