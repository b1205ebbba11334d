import { MemoryStore, type Store } from 'express-session';
import type { StoreFactoryOptions, StoreSupport } from '../../conformance/types';
import { packageTitle } from './support';

export const name = `${packageTitle('express-session')} MemoryStore`;
export const clock = 'real';
/** No options at all; every instance is its own namespace. */
export const supports: StoreSupport = { namespaces: true };

export async function unavailable(): Promise<string | undefined> {
  return undefined;
}

export async function createStore(_options: StoreFactoryOptions): Promise<Store> {
  return new MemoryStore();
}

/** Its sessions are JSON text in `sessions`, keyed by sid. */
export function writeRaw(store: Store, sid: string, text: string): void {
  (store as unknown as { sessions: Record<string, string> }).sessions[sid] = text;
}

export async function teardown(): Promise<void> {}
