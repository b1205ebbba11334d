import { serverProblem } from '../../test/support/own-stores';

export * from '../../stores/mysql/fixtures/factory';
export const name = 'session-stores MySqlStore';
export const clock = 'real';
export const unavailable = () => serverProblem('mysql');
