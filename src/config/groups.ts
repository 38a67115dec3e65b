import { isGenesysTokenUrl } from './regions.js';
import type { Io } from './io.js';
import type { PoolSettings, ProfileDefaults } from './profiles.js';
import type { ProfileConfig } from './types.js';

/**
 * Group profiles: a profile of the profiles file that names `members` instead of credentials, so
 * a user-context run spreads over several users without the client naming one per request
 * (README "Many users"). Genesys counts a user token's requests per user and OAuth client
 * (`org.app.user.rate.per.minute`, docs/genesys.md §5): more tokens of one user do not help, more
 * users do. A group's pool therefore has one slot per member, each slot its member's own token
 * lifecycle (the composition root shares it with the member's own profile), routed by budget.
 *
 * What is checked here, once every profile of the file is complete: each member is a profile of the
 * file, not a group itself, named once, a refresh_token profile (one user, one refresh-token family),
 * and every member has the same OAuth client, token URL, upstream and token injection (they are one
 * route, and one user's budget is counted per client). Every problem is named, with the file and
 * the group's `members` path.
 */

/** What a group may say of its own: its members and its pool's rate-limit settings. */
export const GROUP_KEYS = ['members', 'rateLimitPerToken', 'rateLimitWindowS', 'provider', 'rateLimitPolicy', 'rateLimitMaxWaitMs'];

/** A group as the profiles file gives it. */
export interface GroupDraft {
  readonly name: string;
  /** As listed (empty when the list itself was unusable: that problem is reported already). */
  readonly members: readonly string[];
  /** `<file>: profiles.<name>.members`, where its problems are reported. */
  readonly where: string;
  readonly pool: Partial<PoolSettings>;
}

/** The profiles a group's members are looked up among. */
export interface GroupContext {
  /** Every profile name of the file, complete or not (a profile with problems of its own is not complete). */
  readonly profileNames: ReadonlySet<string>;
  readonly groupNames: ReadonlySet<string>;
  /** The profiles that completed without problems, by name. */
  readonly complete: ReadonlyMap<string, ProfileConfig>;
}

/** The fields every member must share, and how a problem names each. */
const SHARED: ReadonlyArray<readonly [keyof ProfileConfig, string]> = [
  ['clientId', 'OAuth client'],
  ['tokenUrl', 'token URL'],
  ['upstreamUrl', 'upstream'],
  ['injectHeader', 'inject header'],
  ['injectPrefix', 'inject prefix'],
];

/**
 * The group's ProfileConfig, or undefined with its problems reported. Its client, URLs, grant and
 * injection are its members' (checked to be the same); its pool is one fixed slot per member; its
 * rate-limit settings are its own, else the flat settings (as any profile's). No secret of a member
 * is copied into it: members' credentials may be getters over their files (rotating-secrets.ts).
 */
export function completeGroup(group: GroupDraft, context: GroupContext, inherited: ProfileDefaults, io: Io): ProfileConfig | undefined {
  const problem = (text: string) => io.report(`${group.where}: ${text}`);
  const seen = new Set<string>();
  const members: ProfileConfig[] = [];
  let usable = group.members.length > 0;
  for (const name of group.members) {
    if (seen.has(name)) {
      problem(`names ${JSON.stringify(name)} twice; each member once`);
      usable = false;
      continue;
    }
    seen.add(name);
    if (context.groupNames.has(name)) {
      problem(name === group.name ? 'names the group itself' : `${JSON.stringify(name)} is a group itself; groups do not nest, list its members instead`);
      usable = false;
    } else if (!context.profileNames.has(name)) {
      problem(`no profile named ${JSON.stringify(name)} in the file`);
      usable = false;
    } else {
      const member = context.complete.get(name);
      // A member with problems of its own has them reported already.
      if (member === undefined) usable = false;
      else if (member.grant !== 'refresh_token') {
        problem(`${JSON.stringify(name)} uses the ${member.grant} grant; a member must be a refresh_token profile (one user each)`);
        usable = false;
      } else members.push(member);
    }
  }
  const first = members[0];
  if (first !== undefined) {
    for (const member of members.slice(1)) {
      for (const [field, label] of SHARED) {
        if (member[field] !== first[field]) {
          problem(`${JSON.stringify(member.name)} has another ${label} (${JSON.stringify(member[field])}) than ${JSON.stringify(first.name)} ` +
            `(${JSON.stringify(first[field])}); a group's members share one OAuth client, token URL, upstream and injection`);
          usable = false;
        }
      }
    }
  }
  if (!usable || first === undefined) return undefined;

  const pool: PoolSettings = { ...inherited.pool, ...group.pool };
  return {
    name: group.name,
    members: members.map((member) => member.name),
    grant: first.grant,
    clientId: first.clientId,
    grantOptions: {},
    tokenUrl: first.tokenUrl,
    upstreamUrl: first.upstreamUrl,
    // More tokens of one user do not help: one slot per member, never grown.
    poolSize: members.length,
    poolAuto: false,
    poolMax: members.length,
    ...(pool.rateLimitPerToken !== undefined && { rateLimitPerToken: pool.rateLimitPerToken }),
    rateLimitWindowMs: pool.rateLimitWindowS * 1000,
    provider: pool.provider === 'auto' ? (isGenesysTokenUrl(first.tokenUrl) ? 'genesys' : 'oauth2') : pool.provider,
    rateLimitPolicy: pool.rateLimitPolicy,
    rateLimitMaxWaitMs: pool.rateLimitMaxWaitMs,
    tokenAuth: first.tokenAuth,
    defaultLifetimeS: first.defaultLifetimeS,
    injectHeader: first.injectHeader,
    injectPrefix: first.injectPrefix,
  };
}
