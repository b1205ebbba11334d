import { optionError } from '../../shared';
import type { RedisCommands } from './client';
import { ioredisCommands, isIORedisClient } from './ioredis';
import { isNodeRedisClient, isNodeRedisCluster, nodeRedisClusterCommands, nodeRedisCommands } from './node-redis';

/** The commands of `client`, or an options error for anything that is neither client. */
export function commandsOf(client: unknown): RedisCommands {
  if (isNodeRedisCluster(client)) return nodeRedisClusterCommands(client);
  if (isNodeRedisClient(client)) return nodeRedisCommands(client);
  if (isIORedisClient(client)) return ioredisCommands(client);
  throw optionError('redis', 'client must be an ioredis Redis or Cluster, or a node-redis v5 client or cluster');
}
