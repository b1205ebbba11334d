export * from '../../stores/memory/fixtures/factory';
export const name = 'session-stores MemoryStore';
export const clock = 'real';
export const unavailable = async (): Promise<string | undefined> => undefined;
