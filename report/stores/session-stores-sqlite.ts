export * from '../../stores/sqlite/fixtures/factory';
export const name = 'session-stores SqliteStore';
export const clock = 'real';
export const unavailable = async (): Promise<string | undefined> => undefined;
