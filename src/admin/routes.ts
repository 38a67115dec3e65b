import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { RunBrakes } from '../brakes/run-brakes.js';
import type { Config } from '../config/types.js';
import { SidecarError } from '../errors.js';
import type { TokenProfiles } from '../pool/profiles.js';
import type { SlotStatus } from '../pool/slot.js';
import { scrubText } from '../logging/redact.js';
import type { Metrics } from '../metrics/metrics.js';
import { INBOUND_KEY_HEADER, matchesInboundKey } from '../http/inbound-key.js';
import { sendError } from '../http/send-error.js';
import type { TokenStore } from '../store/store.js';
import { TokenEndpointError } from '../token/endpoint.js';

export interface AdminOptions {
  readonly config: Config;
  readonly profiles: TokenProfiles;
  readonly metrics: Metrics;
  readonly store: TokenStore;
  readonly brakes: RunBrakes;
  readonly instanceId: string;
  readonly storeKind: 'memory' | 'redis';
}

/**
 * The admin port (README "Prometheus and Grafana"): metrics, health, readiness and token metadata.
 * It reads the lifecycle's state (TokenProfiles, each pool's and slot's status) and may force a
 * refresh, but never takes a lease. Nothing here ever returns a token, a refresh token or a secret:
 * `/token` is built from describeToken().
 */
export async function adminRoutes(app: FastifyInstance, opts: AdminOptions): Promise<void> {
  const { config, profiles, metrics, store } = opts;
  const inboundKey = config.inboundApiKey ? Buffer.from(config.inboundApiKey) : undefined;
  // Every configured profile's series exist from the first scrape (at 0), not from their first event.
  metrics.initProfiles(config.profiles);

  app.get('/metrics', async (_request, reply) => {
    const body = await metrics.registry.metrics();
    return reply.header('content-type', metrics.registry.contentType).send(body);
  });

  app.get('/healthz', async () => ({ status: 'ok' }));

  // Group profiles' members, in slot order (config/groups.ts): slot i of a group is member i's token.
  const membersOf = new Map(config.profiles.flatMap((profile) => (profile.members === undefined ? [] : [[profile.name, profile.members] as const])));
  const groupMembers = new Set([...membersOf.values()].flat());

  app.get('/readyz', async (_request, reply) => {
    const notReady = profiles.all.filter((pool) => !pool.ready);
    // A group's member without a valid token (a broken refresh-token family, until `login` repairs it)
    // does not fail readiness: its group serves on the other members, and is itself not ready only
    // when none of them holds one. It is named under `degraded`.
    const reasons = notReady.filter((pool) => !groupMembers.has(pool.profile)).map((pool) => notReadyReason(pool.profile, pool.status()));
    const degraded = notReady.filter((pool) => groupMembers.has(pool.profile)).map((pool) => notReadyReason(pool.profile, pool.status()));
    // Redis down is served around (in-memory lifecycle), so it is reported but does not fail readiness.
    const body = { ready: reasons.length === 0, reasons, ...(degraded.length > 0 && { degraded }), store: { kind: opts.storeKind, available: store.available } };
    return reply.code(reasons.length === 0 ? 200 : 503).send(body);
  });

  app.get('/token', async () => ({
    instanceId: opts.instanceId,
    store: { kind: opts.storeKind, available: store.available },
    defaultProfile: config.defaultProfile,
    profiles: profiles.all.map((pool) => {
      const members = membersOf.get(pool.profile);
      const slots = members === undefined ? pool.status() : pool.status().map((slot) => ({ ...slot, member: members[slot.slot] }));
      return {
        profile: pool.profile,
        ...(members !== undefined && { members }),
        state: pool.ready ? 'valid' : slots[0]?.state ?? 'starting',
        poolSize: slots.length,
        pool: pool.poolStatus(),
        slots,
      };
    }),
  }));

  app.post('/token/refresh', async (request, reply) => {
    if (inboundKey && !matchesInboundKey(request.headers[INBOUND_KEY_HEADER], inboundKey)) {
      return sendError(reply, new SidecarError('inboundKeyRequired', 'send the inbound key in x-sidecar-key to force a refresh'));
    }
    const query = request.query as { profile?: string };
    const targets = query.profile ? [profiles.pool(query.profile)] : profiles.all;
    if (targets.some((pool) => pool === undefined)) {
      return sendError(reply, new SidecarError('unknownProfile', `unknown token profile "${query.profile}"`));
    }
    try {
      await Promise.all(targets.map((pool) => pool!.forceRefresh()));
    } catch (err) {
      if (err instanceof SidecarError) return sendError(reply, err);
      // The token endpoint's own words (OAuth error and description, scrubbed at the source), never the request.
      const cause = scrubText(err instanceof TokenEndpointError ? err.summary : String((err as Error)?.message ?? err));
      return sendError(reply, new SidecarError('tokenUnavailable', 'forced refresh failed', { cause, retryAfterSeconds: 1 }));
    }
    return { refreshed: targets.map((pool) => ({ profile: pool!.profile, slots: pool!.status() })) };
  });

  /**
   * The run's brakes. Guarded by the inbound key like POST /token/refresh: whenever INBOUND_API_KEY is
   * set (it must be when the admin port is not on loopback, PROTECTED_MODE), a POST without it is refused.
   */
  const brakeAction = (what: string, action: () => Promise<void>) => async (request: FastifyRequest, reply: FastifyReply) => {
    if (inboundKey && !matchesInboundKey(request.headers[INBOUND_KEY_HEADER], inboundKey)) {
      return sendError(reply, new SidecarError('inboundKeyRequired', `send the inbound key in x-sidecar-key to ${what}`));
    }
    try {
      await action();
    } catch (err) {
      const cause = scrubText(String((err as Error)?.message ?? err));
      return sendError(reply, new SidecarError('storeUnavailable', `could not ${what}: the shared store did not answer`, { cause }));
    }
    return opts.brakes.status();
  };
  app.get('/admin/brakes', async () => opts.brakes.status());
  app.post('/admin/halt', brakeAction('halt the run', () => opts.brakes.halt()));
  app.post('/admin/resume', brakeAction('resume the run', () => opts.brakes.resume()));
  app.post('/admin/requests/reset', brakeAction('reset the run\'s request count', () => opts.brakes.resetRequests()));

  app.setNotFoundHandler((request, reply) => sendError(reply, new SidecarError('notFound', `no admin route ${request.method} ${request.url.split('?')[0]}`)));
}

/** Why a profile is not ready, in words a person can act on: the last token endpoint error, or that the first token is on its way. */
function notReadyReason(profile: string, slots: readonly SlotStatus[]): string {
  const failing = slots.find((slot) => slot.lastError);
  if (failing) {
    const retry = failing.nextRetryAt ? ` (next attempt at ${failing.nextRetryAt})` : '';
    return `profile "${profile}" holds no valid token: ${scrubText(failing.lastError!)}${retry}`;
  }
  if (slots.some((slot) => slot.state === 'refreshing' || slot.state === 'starting')) {
    return `profile "${profile}" holds no valid token yet: token request in progress`;
  }
  return `profile "${profile}" holds no valid token`;
}
