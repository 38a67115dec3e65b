import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { ConfigError, loadConfig } from '../../src/config/load.js';
import type { Config, ProfileConfig } from '../../src/config/types.js';

// A group profile names refresh_token profiles of the same file as its members (README "Many
// users"); every way a group can be wrong is named at start, with the file and the group's path.

const SECRET = 'Gr0up-secret-never-shown';
const dir = mkdtempSync(join(tmpdir(), 'sidecar-groups-'));
after(() => rmSync(dir, { recursive: true, force: true }));
for (const name of ['alice', 'bob', 'carol']) writeFileSync(join(dir, `${name}.rt`), `${name}-refresh-${SECRET}\n`);
writeFileSync(join(dir, 'secret.txt'), `${SECRET}\n`);

let fileCount = 0;
function json(document: unknown): string {
  const path = join(dir, `groups-${++fileCount}.json`);
  writeFileSync(path, JSON.stringify(document));
  return path;
}

const endpoints = { upstream: 'http://127.0.0.1:4010', tokenUrl: 'http://127.0.0.1:4010/oauth/token' };
const user = (name: string, more: Record<string, unknown> = {}) => ({
  grant: 'refresh_token', clientId: 'web', clientSecretFile: 'secret.txt', refreshTokenFile: `${name}.rt`, ...endpoints, ...more,
});
const USERS = { alice: user('alice'), bob: user('bob'), carol: user('carol') };

function load(path: string, env: Record<string, string> = {}, purpose?: 'login'): Readonly<Config> {
  return loadConfig(['--config', path], env, undefined, purpose === undefined ? {} : { purpose });
}

function problemsOf(path: string): string[] {
  try {
    load(path);
  } catch (error) {
    assert.ok(error instanceof ConfigError, String(error));
    for (const line of error.problems) assert.ok(!line.includes(SECRET), line);
    return error.problems;
  }
  assert.fail('expected a ConfigError');
}

function profile(config: Config, name: string): ProfileConfig {
  const found = config.profiles.find((candidate) => candidate.name === name);
  assert.ok(found, `no profile ${name}`);
  return found;
}

describe('group profiles', () => {
  it('reads a group of three users as the default profile: their client and URLs, one fixed slot each, no credentials of its own', () => {
    const config = load(json({ defaultProfile: 'users', profiles: { ...USERS, users: { members: ['alice', 'bob', 'carol'] } } }));
    assert.equal(config.defaultProfile, 'users');
    const group = profile(config, 'users');
    assert.deepEqual(group.members, ['alice', 'bob', 'carol']);
    assert.equal(group.grant, 'refresh_token');
    assert.equal(group.clientId, 'web');
    assert.equal(group.upstreamUrl, 'http://127.0.0.1:4010');
    assert.equal(group.tokenUrl, 'http://127.0.0.1:4010/oauth/token');
    assert.deepEqual([group.poolSize, group.poolAuto, group.poolMax], [3, false, 3]);
    assert.equal(group.clientSecret, undefined);
    assert.equal(group.refreshToken, undefined);
    assert.ok(!JSON.stringify(group).includes(SECRET), 'a member secret was copied into the group');
    // The members stay profiles of their own, with their own refresh tokens.
    assert.equal(profile(config, 'alice').refreshToken, `alice-refresh-${SECRET}`);
    assert.equal(profile(config, 'alice').members, undefined);
  });

  it('takes its rate-limit settings from its own fields, else from the flat settings, never from its members', () => {
    const members = { alice: user('alice', { rateLimitPerToken: 100 }), bob: user('bob', { rateLimitPerToken: 100 }) };
    const own = profile(load(json({ profiles: { ...members, g: { members: ['alice', 'bob'], rateLimitPerToken: 600, rateLimitWindowS: 2, rateLimitPolicy: 'wait' } } })), 'g');
    assert.deepEqual([own.rateLimitPerToken, own.rateLimitWindowMs, own.rateLimitPolicy], [600, 2000, 'wait']);
    const flat = profile(load(json({ profiles: { ...members, g: { members: ['alice', 'bob'] } } }), { RATE_LIMIT_PER_TOKEN: '250' }), 'g');
    assert.deepEqual([flat.rateLimitPerToken, flat.rateLimitWindowMs, flat.rateLimitPolicy, flat.provider], [250, 60000, 'pass', 'oauth2']);
  });

  it('is read for login too, where the members need no refresh token file yet', () => {
    const members = { alice: user('alice', { refreshTokenFile: 'not-yet-alice.rt' }), bob: user('bob', { refreshTokenFile: 'not-yet-bob.rt' }) };
    const config = load(json({ defaultProfile: 'g', profiles: { ...members, g: { members: ['alice', 'bob'] } } }), {}, 'login');
    assert.deepEqual(profile(config, 'g').members, ['alice', 'bob']);
  });

  const service = { clientId: 'svc', clientSecretFile: 'secret.txt', ...endpoints };
  // [what is wrong, the profiles, the problems after `<file>: `]
  const rules: ReadonlyArray<readonly [string, Record<string, unknown>, string[]]> = [
    ['an empty member list', { ...USERS, g: { members: [] } }, ['profiles.g.members: must name at least one profile']],
    ['members that are not a list', { ...USERS, g: { members: 'alice, bob' } }, ['profiles.g.members: must be a list of profile names, e.g. [alice, bob, carol]']],
    ['a member that is not a name', { ...USERS, g: { members: ['alice', 3] } }, ['profiles.g.members: must be a list of profile names, e.g. [alice, bob, carol]']],
    ['a member that does not exist', { ...USERS, g: { members: ['alice', 'dave'] } }, ['profiles.g.members: no profile named "dave" in the file']],
    ['a member named twice', { ...USERS, g: { members: ['alice', 'bob', 'alice'] } }, ['profiles.g.members: names "alice" twice; each member once']],
    ['a group that names itself', { ...USERS, g: { members: ['alice', 'g'] } }, ['profiles.g.members: names the group itself']],
    ['a group of a group', { ...USERS, g: { members: ['alice'] }, h: { members: ['g', 'bob'] } }, ['profiles.h.members: "g" is a group itself; groups do not nest, list its members instead']],
    ['a member with the client_credentials grant', { ...USERS, svc: service, g: { members: ['alice', 'svc'] } }, ['profiles.g.members: "svc" uses the client_credentials grant; a member must be a refresh_token profile (one user each)']],
    ['members of two OAuth clients', { alice: USERS.alice, bob: user('bob', { clientId: 'other' }), g: { members: ['alice', 'bob'] } },
      ['profiles.g.members: "bob" has another OAuth client ("other") than "alice" ("web"); a group\'s members share one OAuth client, token URL, upstream and injection']],
    ['members of two token URLs', { alice: USERS.alice, bob: user('bob', { tokenUrl: 'http://127.0.0.1:4011/oauth/token' }), g: { members: ['alice', 'bob'] } },
      ['profiles.g.members: "bob" has another token URL ("http://127.0.0.1:4011/oauth/token") than "alice" ("http://127.0.0.1:4010/oauth/token"); a group\'s members share one OAuth client, token URL, upstream and injection']],
    ['members of two upstreams', { alice: USERS.alice, bob: user('bob', { upstream: 'http://127.0.0.1:4012' }), g: { members: ['alice', 'bob'] } },
      ['profiles.g.members: "bob" has another upstream ("http://127.0.0.1:4012") than "alice" ("http://127.0.0.1:4010"); a group\'s members share one OAuth client, token URL, upstream and injection']],
    ['members that send their tokens in two headers', { alice: USERS.alice, bob: user('bob', { injectHeader: 'x-api-key' }), g: { members: ['alice', 'bob'] } },
      ['profiles.g.members: "bob" has another inject header ("x-api-key") than "alice" ("authorization"); a group\'s members share one OAuth client, token URL, upstream and injection']],
    ['credentials of its own', { ...USERS, g: { members: ['alice'], clientId: 'web', refreshTokenFile: 'alice.rt' } }, [
      "profiles.g.clientId: not a field of a group (one with members): its client, URLs and credentials are its members', its pool one token per member; a group may have members, rateLimitPerToken, rateLimitWindowS, provider, rateLimitPolicy, rateLimitMaxWaitMs",
      "profiles.g.refreshTokenFile: not a field of a group (one with members): its client, URLs and credentials are its members', its pool one token per member; a group may have members, rateLimitPerToken, rateLimitWindowS, provider, rateLimitPolicy, rateLimitMaxWaitMs",
    ]],
    ['a pool size of its own', { ...USERS, g: { members: ['alice'], poolSize: 3 } }, [
      "profiles.g.poolSize: not a field of a group (one with members): its client, URLs and credentials are its members', its pool one token per member; a group may have members, rateLimitPerToken, rateLimitWindowS, provider, rateLimitPolicy, rateLimitMaxWaitMs",
    ]],
    ['a misspelt key', { ...USERS, g: { members: ['alice'], rateLimitPolcy: 'wait' } }, [
      'profiles.g.rateLimitPolcy: unknown key (a group may have members, rateLimitPerToken, rateLimitWindowS, provider, rateLimitPolicy, rateLimitMaxWaitMs)',
    ]],
    ['a rate-limit setting its rule refuses', { ...USERS, g: { members: ['alice'], rateLimitPolicy: 'queue' } }, ['profiles.g.rateLimitPolicy: must be one of pass, wait, reject, got "queue"']],
    ['a group name with a space', { ...USERS, 'g g': { members: ['alice'] } }, ['profiles.g g: the name must be 1 to 64 of A-Z a-z 0-9 _ . -']],
  ];
  for (const [wrong, profiles, problems] of rules) {
    it(`rejects ${wrong}, naming the file and the group`, () => {
      const path = json({ profiles });
      assert.deepEqual(problemsOf(path), problems.map((problem) => `${path}: ${problem}`));
    });
  }

  it('names every problem of a group at once, and none more for a member whose own problem is named', () => {
    const path = json({
      profiles: {
        alice: USERS.alice,
        bob: user('bob', { refreshTokenFile: 'absent.rt' }),
        svc: service,
        g: { members: ['alice', 'bob', 'svc', 'dave', 'alice'] },
      },
    });
    assert.deepEqual(problemsOf(path).sort(), [
      `${path}: profiles.bob.refreshTokenFile: cannot read ${JSON.stringify(join(dir, 'absent.rt'))} (ENOENT)`,
      `${path}: profiles.g.members: "svc" uses the client_credentials grant; a member must be a refresh_token profile (one user each)`,
      `${path}: profiles.g.members: names "alice" twice; each member once`,
      `${path}: profiles.g.members: no profile named "dave" in the file`,
    ].sort());
  });

  it('may be the default profile, and a group named "default" conflicts with the flat credentials as a profile would', () => {
    const path = json({ defaultProfile: 'nobody', profiles: { ...USERS, default: { members: ['alice'] } } });
    try {
      load(path, { GENESYSCLOUD_OAUTHCLIENT_ID: 'flat', GENESYSCLOUD_OAUTHCLIENT_SECRET: 'flat-secret' });
      assert.fail('expected a ConfigError');
    } catch (error) {
      assert.ok(error instanceof ConfigError);
      assert.deepEqual(error.problems.sort(), [
        `${path}: defaultProfile: no profile named "nobody"`,
        `${path}: profiles.default: conflicts with the profile "default" formed by GENESYSCLOUD_OAUTHCLIENT_ID (--client-id) and its secret; rename one`,
      ].sort());
    }
  });
});
