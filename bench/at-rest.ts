import { randomBytes } from 'node:crypto';
import type { BaseStoreOptions } from '../shared';
import type { Contender } from './harness';

export type AtRestOptions = Pick<BaseStoreOptions, 'hashIds' | 'encryptionKeys'>;

const KEY = randomBytes(32);

/** The at-rest options each suite measures against its store without them: each alone, then both. */
export const AT_REST_VARIANTS: ReadonlyArray<{ label: string; options: AtRestOptions }> = [
  { label: 'hashIds', options: { hashIds: true } },
  { label: 'encryptionKeys', options: { encryptionKeys: [KEY] } },
  { label: 'both', options: { hashIds: true, encryptionKeys: [KEY] } },
];

/** `make`'s contender without options, named `name`, then one per variant (`<name> + hashIds`, ...), each measured against it. */
export function withAtRestVariants(name: string, make: (name: string, options: AtRestOptions) => Contender): Contender[] {
  return [make(name, {}), ...AT_REST_VARIANTS.map(({ label, options }) => ({ ...make(`${name} + ${label}`, options), baseline: name }))];
}

export const AT_REST_NOTE = 'at-rest variants: hashIds true (SHA-256 of the id), encryptionKeys one random 32-byte key (AES-256-GCM), both; each against the same store without them';
