import { serverProblem } from '../../test/support/own-stores';
import { onMongoServer } from './support';

export * from '../../stores/mongo/fixtures/factory';
export const name = `session-stores MongoStore${onMongoServer()}`;
export const clock = 'real';
export const unavailable = () => serverProblem('mongo');
