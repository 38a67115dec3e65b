import type { Config } from '../config/types.js';
import { LocalRefreshLock } from '../lock/local.js';
import type { RefreshLock } from '../lock/lock.js';
import { RedlockRefreshLock } from '../lock/redlock.js';
import type { Logger } from '../logging.js';
import { MemoryTokenStore } from './memory.js';
import { RedisTokenStore } from './redis.js';
import type { TokenStore } from './store.js';

export interface Backends {
  readonly store: TokenStore;
  readonly lock: RefreshLock;
  readonly kind: 'memory' | 'redis';
}

/**
 * The store and lock that REDIS_URL asks for: none → in-memory (one instance); one or more URLs →
 * Redis store and Redlock over the same nodes.
 */
export function createBackends(config: Config, log: Logger): Backends {
  if (config.redisUrls.length === 0) {
    return { store: new MemoryTokenStore(), lock: new LocalRefreshLock(), kind: 'memory' };
  }
  const logger = log.child({ component: 'redis' });
  return {
    store: new RedisTokenStore({ urls: config.redisUrls, channel: `${config.redisKeyPrefix}:events`, logger }),
    lock: new RedlockRefreshLock({ urls: config.redisUrls }),
    kind: 'redis',
  };
}
