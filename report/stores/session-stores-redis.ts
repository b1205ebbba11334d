import { serverProblem } from '../../test/support/own-stores';

export * from '../../stores/redis/fixtures/factory';
export const name = 'session-stores RedisStore';
export const clock = 'real';
export const unavailable = () => serverProblem('redis');
