import { hostname } from 'node:os';
import { chmod, open, rename, rm } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { randomBytes } from 'node:crypto';
import type { Config, ProfileConfig } from '../config/types.js';
import type { Logger } from '../logging.js';
import { tokenKey } from '../store/key.js';
import { RedisTokenStore } from '../store/redis.js';
import type { TokenResponse } from '../token/endpoint.js';
import { LoginError } from './login-error.js';

/**
 * Where a login's refresh token goes: a file the sidecar reads as OAUTH_REFRESH_TOKEN_FILE, and the
 * shared store the running sidecars of that profile read it from.
 */

/**
 * Writes `refreshToken` (and a newline, which the sidecar strips) to `path` with mode 0600: into a
 * new file created 0600 beside it, then renamed over it, so the token is never readable by others,
 * not even for a moment, and a reader never sees half a file.
 */
export async function writeRefreshTokenFile(path: string, refreshToken: string): Promise<void> {
  const temporary = join(dirname(path), `.${basename(path)}.${randomBytes(6).toString('hex')}.tmp`);
  try {
    const file = await open(temporary, 'wx', 0o600);
    try {
      await file.chmod(0o600); // in case the umask took bits the mode above did not ask for anyway
      await file.writeFile(`${refreshToken}\n`);
      await file.sync();
    } finally {
      await file.close();
    }
    await rename(temporary, path);
    await chmod(path, 0o600);
  } catch (err) {
    await rm(temporary, { force: true }).catch(() => {});
    const e = err as NodeJS.ErrnoException;
    throw new LoginError(`cannot write the refresh token to ${JSON.stringify(path)} (${e.code ?? e.message})`);
  }
}

/**
 * Puts the new refresh token, and the access token that came with it, into the shared store for the
 * profile's first slot, as a newer record: it reserves the next generation (so it beats every token
 * a sidecar holds or is fetching) and writes with the store's compare-and-set. The access token is
 * published, so running sidecars switch to it at once; a sidecar that missed the publication finds it,
 * or the refresh token, at its next refresh attempt. Returns the generation.
 *
 * Refused (LoginError) when a sidecar stored a newer refresh token between the reservation and the
 * write: its chain is then the live one, and this login's token is not stored.
 */
export async function storeLogin(
  config: Config,
  profile: ProfileConfig,
  tokens: TokenResponse & { refreshToken: string },
  issuedAt: number,
  log: Logger,
): Promise<number> {
  if (!config.redis) throw new LoginError('no Redis store is configured');
  const store = new RedisTokenStore({ connection: config.redis, channel: `${config.redisKeyPrefix}:events`, logger: log.child({ component: 'redis' }) });
  const key = tokenKey(config.redisKeyPrefix, { tokenUrl: profile.tokenUrl, clientId: profile.clientId, profile: profile.name, slot: 0 });
  try {
    const generation = await store.nextGeneration(key);
    if (!(await store.putRefreshToken(key, tokens.refreshToken, generation))) {
      throw new LoginError(`the shared store already holds a newer refresh token for profile "${profile.name}" (a sidecar refreshed at this very moment); run login again`);
    }
    const access = { accessToken: tokens.accessToken, issuedAt, expiresAt: issuedAt + tokens.expiresInMs, generation, fetchedBy: `login@${hostname()}` };
    const published = await store.putIfNewer(key, access);
    log.debug({ profile: profile.name, generation, published }, 'login stored in the shared store');
    return generation;
  } catch (err) {
    if (err instanceof LoginError) throw err;
    throw new LoginError(`the shared store did not take the refresh token: ${(err as Error).message}`);
  } finally {
    await store.close().catch(() => {});
  }
}
