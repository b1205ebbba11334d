import { serverProblem } from '../../test/support/own-stores';

export * from '../../stores/postgres/fixtures/factory';
export const name = 'session-stores PostgresStore';
export const clock = 'real';
export const unavailable = () => serverProblem('postgres');
