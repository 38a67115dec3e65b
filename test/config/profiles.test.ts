import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { ConfigError, loadConfig } from '../../src/config/load.js';
import type { Config, ProfileConfig } from '../../src/config/types.js';

type Env = Record<string, string | undefined>;

const SECRET = 'Pr0file-secret-never-shown';
const dir = mkdtempSync(join(tmpdir(), 'sidecar-profiles-'));
after(() => rmSync(dir, { recursive: true, force: true }));

let fileCount = 0;
/** Writes `content` to a fresh file in the temp dir and returns its path. */
function configFile(extension: string, content: string): string {
  const path = join(dir, `profiles-${++fileCount}${extension}`);
  writeFileSync(path, content);
  return path;
}

function json(document: unknown): string {
  return configFile('.json', JSON.stringify(document));
}

function load(path: string, env: Env = {}, argv: string[] = []): Readonly<Config> {
  return loadConfig(['--config', path, ...argv], env);
}

function problemsOf(path: string, env: Env = {}): string[] {
  try {
    load(path, env);
  } catch (error) {
    assert.ok(error instanceof ConfigError, String(error));
    return error.problems;
  }
  assert.fail('expected a ConfigError');
}

/** What every profile holds when neither it nor the flat settings name a provider setting. */
const PROVIDER_DEFAULTS = { tokenAuth: 'client_secret_basic', defaultLifetimeS: 300, injectHeader: 'authorization', injectPrefix: 'Bearer ' } as const;
const PROFILE_KEYS = 'grant, clientId, clientSecret, clientSecretFile, refreshToken, refreshTokenFile, region, upstream, tokenUrl, poolSize, ' +
  'poolMax, rateLimitPerToken, rateLimitWindowS, provider, rateLimitPolicy, rateLimitMaxWaitMs, tokenAuth, privateKeyFile, keyId, certFile, scope, audience, resource, tokenParams, tokenDefaultLifetimeS, injectHeader, injectPrefix, jwtSubject, jwtAudience, members';

function byName(config: Config): Record<string, ProfileConfig> {
  return Object.fromEntries(config.profiles.map((profile) => [profile.name, profile]));
}

/** The pool fields of a profile left to the defaults: auto from one token, up to 64, pass. */
const AUTO_POOL = { poolSize: 1, poolAuto: true, poolMax: 64, rateLimitWindowMs: 60000, provider: 'genesys', rateLimitPolicy: 'pass', rateLimitMaxWaitMs: 5000 } as const;

const TWO_PROFILES_YAML = `
defaultProfile: us
profiles:
  eu:
    clientId: eu-client
    clientSecret: ${SECRET}
    region: eu-west-2
    poolSize: 4
  us:
    grant: refresh_token
    clientId: us-client
    clientSecretFile: secrets/us-secret
    refreshTokenFile: secrets/us-refresh
    upstream: http://127.0.0.1:4010/api/
    tokenUrl: http://127.0.0.1:4010/oauth/token
`;

describe('profiles file', () => {
  mkdirSync(join(dir, 'secrets'));
  writeFileSync(join(dir, 'secrets', 'us-secret'), 'us-secret\n');
  writeFileSync(join(dir, 'secrets', 'us-refresh'), 'us-refresh\n');

  it('reads two profiles from JSON, the first being the default when none is named "default"', () => {
    const config = load(json({
      profiles: {
        eu: { clientId: 'eu-client', clientSecret: SECRET, region: 'euw2.pure.cloud' },
        jp: { clientId: 'jp-client', clientSecret: SECRET, region: 'ap_northeast_1', poolSize: 2 },
      },
    }));
    assert.equal(config.defaultProfile, 'eu');
    assert.deepEqual(config.profiles, [
      { name: 'eu', grant: 'client_credentials', grantOptions: {}, clientId: 'eu-client', clientSecret: SECRET, ...AUTO_POOL,
        upstreamUrl: 'https://api.euw2.pure.cloud', tokenUrl: 'https://login.euw2.pure.cloud/oauth/token', ...PROVIDER_DEFAULTS },
      { name: 'jp', grant: 'client_credentials', grantOptions: {}, clientId: 'jp-client', clientSecret: SECRET, ...AUTO_POOL, poolSize: 2, poolAuto: false,
        upstreamUrl: 'https://api.mypurecloud.jp', tokenUrl: 'https://login.mypurecloud.jp/oauth/token', ...PROVIDER_DEFAULTS },
    ]);
  });

  it('reads two profiles from YAML, with secret files found next to the profiles file', () => {
    const config = load(configFile('.yaml', TWO_PROFILES_YAML));
    assert.equal(config.defaultProfile, 'us');
    assert.deepEqual(byName(config).us, {
      name: 'us', grant: 'refresh_token', grantOptions: {}, clientId: 'us-client', clientSecret: 'us-secret', refreshToken: 'us-refresh',
      upstreamUrl: 'http://127.0.0.1:4010/api', tokenUrl: 'http://127.0.0.1:4010/oauth/token', ...AUTO_POOL, poolAuto: false, provider: 'oauth2', ...PROVIDER_DEFAULTS,
    });
    assert.equal(byName(config).eu?.poolSize, 4);
  });

  for (const [kind, content] of [['JSON', JSON.stringify({ profiles: { a: { clientId: 'a', clientSecret: 's' } } })],
    ['YAML', 'profiles:\n  a: { clientId: a, clientSecret: s }\n']] as const) {
    it(`reads ${kind} from a file without a known extension`, () => {
      assert.equal(load(configFile('.conf', content)).profiles[0]?.clientId, 'a');
    });
  }

  it('takes the file from SIDECAR_CONFIG as well as --config', () => {
    const path = configFile('.yml', TWO_PROFILES_YAML);
    assert.deepEqual(loadConfig([], { SIDECAR_CONFIG: path }), load(path));
  });

  it('adds the flat credentials as the profile "default", which becomes the default profile', () => {
    const config = load(configFile('.yaml', TWO_PROFILES_YAML.replace('defaultProfile: us', '')),
      { GENESYSCLOUD_OAUTHCLIENT_ID: 'flat', GENESYSCLOUD_OAUTHCLIENT_SECRET: SECRET });
    assert.deepEqual(config.profiles.map((p) => p.name), ['default', 'eu', 'us']);
    assert.equal(config.defaultProfile, 'default');
  });

  it('prefers a file profile named "default" over the first one as the default profile', () => {
    const config = load(json({ profiles: { a: { clientId: 'a', clientSecret: 's' }, default: { clientId: 'd', clientSecret: 's' } } }));
    assert.equal(config.defaultProfile, 'default');
  });

  it('fills what a profile leaves out from the flat settings, the most specific URL winning', () => {
    const config = load(json({
      profiles: {
        plain: { clientId: 'p', clientSecret: 's' },
        region: { clientId: 'r', clientSecret: 's', region: 'eu-central-1' },
        own: { clientId: 'o', clientSecret: 's', region: 'eu-central-1', upstream: 'http://127.0.0.1:1', grant: 'client_credentials' },
      },
    }), { GENESYSCLOUD_REGION: 'ap-south-1', UPSTREAM_URL: 'http://127.0.0.1:9', TOKEN_POOL_SIZE: '3' });
    const profiles = byName(config);
    assert.deepEqual([profiles.plain?.upstreamUrl, profiles.plain?.tokenUrl, profiles.plain?.poolSize],
      ['http://127.0.0.1:9', 'https://login.aps1.pure.cloud/oauth/token', 3]);
    assert.deepEqual([profiles.region?.upstreamUrl, profiles.region?.tokenUrl],
      ['https://api.mypurecloud.de', 'https://login.mypurecloud.de/oauth/token']);
    assert.equal(profiles.own?.upstreamUrl, 'http://127.0.0.1:1');
  });

  it('takes the pool and rate-limit settings per profile, the flat ones filling the rest', () => {
    const config = load(json({
      profiles: {
        big: { clientId: 'b', clientSecret: 's', poolSize: 'auto', poolMax: 128, rateLimitPerToken: 300, rateLimitPolicy: 'wait', rateLimitMaxWaitMs: '250' },
        plain: { clientId: 'p', clientSecret: 's' },
        user: { clientId: 'u', clientSecret: 's', grant: 'refresh_token', refreshToken: SECRET, poolSize: 'auto' },
      },
    }), { TOKEN_POOL_SIZE: '5', RATE_LIMIT_POLICY: 'reject', TOKEN_POOL_MAX: '10' });
    const { big, plain, user } = byName(config);
    assert.deepEqual(
      [big?.poolSize, big?.poolAuto, big?.poolMax, big?.rateLimitPerToken, big?.rateLimitPolicy, big?.rateLimitMaxWaitMs],
      [1, true, 128, 300, 'wait', 250],
    );
    assert.deepEqual([plain?.poolSize, plain?.poolAuto, plain?.poolMax, plain?.rateLimitPolicy], [5, false, 10, 'reject']);
    assert.ok(!('rateLimitPerToken' in (plain ?? {})));
    assert.deepEqual([user?.poolSize, user?.poolAuto], [1, false], 'auto means one token with the refresh_token grant');
  });

  it('applies a flat OAUTH_GRANT to every profile that names no grant', () => {
    const problems = problemsOf(json({ profiles: { a: { clientId: 'a', clientSecret: 's' } } }), { OAUTH_GRANT: 'refresh_token' });
    assert.deepEqual(problems.map((line) => line.slice(line.indexOf('profiles.'))),
      ['profiles.a.refreshToken (or refreshTokenFile): required by the refresh_token grant']);
  });

  it('does not ask for flat credentials when a profiles file is given', () => {
    assert.doesNotThrow(() => load(configFile('.yaml', TWO_PROFILES_YAML)));
  });
});

describe('profiles file problems', () => {
  const good = { clientId: 'a', clientSecret: SECRET };
  // [what is wrong, document, the problem after "<path>: "]
  const rules: ReadonlyArray<readonly [string, unknown, string]> = [
    ['a profile without a client id', { profiles: { eu: { clientSecret: SECRET } } }, 'profiles.eu.clientId: required'],
    ['a profile without a secret', { profiles: { eu: { clientId: 'a' } } }, 'profiles.eu.clientSecret (or clientSecretFile): required'],
    ['a secret given twice', { profiles: { eu: { ...good, clientSecretFile: 'x' } } }, 'profiles.eu: give clientSecret or clientSecretFile, not both'],
    ['a secret that is not a string', { profiles: { eu: { clientId: 'a', clientSecret: 12345 } } }, 'profiles.eu.clientSecret: must be a string'],
    ['a refresh_token profile without a refresh token', { profiles: { eu: { ...good, grant: 'refresh_token' } } }, 'profiles.eu.refreshToken (or refreshTokenFile): required by the refresh_token grant'],
    ['a refresh token without its grant', { profiles: { eu: { ...good, refreshToken: SECRET } } }, 'profiles.eu.refreshToken (or refreshTokenFile): only used by the refresh_token grant, but the grant is client_credentials'],
    ['an unknown grant', { profiles: { eu: { ...good, grant: 'implicit' } } }, 'profiles.eu.grant: must be one of client_credentials, refresh_token, jwt_bearer, got "implicit"'],
    ['an unknown region', { profiles: { eu: { ...good, region: 'eu-west-9' } } }, 'profiles.eu.region: must be a Genesys region as domain (euw2.pure.cloud), AWS-style name (eu-west-2) or SDK key (eu_west_2), got "eu-west-9"'],
    ['an upstream with a query', { profiles: { eu: { ...good, upstream: 'https://x.example/?a=1' } } }, 'profiles.eu.upstream: must not have a query or fragment (a path prefix is fine), got "https://x.example/?a=1"'],
    ['a relative token URL', { profiles: { eu: { ...good, tokenUrl: '/oauth/token' } } }, 'profiles.eu.tokenUrl: must be an absolute http(s) URL, got "/oauth/token"'],
    ['a pool of 0', { profiles: { eu: { ...good, poolSize: 0 } } }, 'profiles.eu.poolSize: must be auto or an integer from 1 to 256, got "0"'],
    ['a pool ceiling of 300', { profiles: { eu: { ...good, poolMax: 300 } } }, 'profiles.eu.poolMax: must be an integer from 1 to 256, got "300"'],
    ['an unknown policy', { profiles: { eu: { ...good, rateLimitPolicy: 'queue' } } }, 'profiles.eu.rateLimitPolicy: must be one of pass, wait, reject, got "queue"'],
    ['a per-token limit of 0', { profiles: { eu: { ...good, rateLimitPerToken: 0 } } }, 'profiles.eu.rateLimitPerToken: must be an integer of at least 1, got "0"'],
    ['a wait that is not a number', { profiles: { eu: { ...good, rateLimitMaxWaitMs: 'long' } } }, 'profiles.eu.rateLimitMaxWaitMs: must be an integer of at least 0, got "long"'],
    ['a fixed pool with the refresh_token grant', { profiles: { eu: { ...good, grant: 'refresh_token', refreshToken: SECRET, poolSize: 3 } } }, 'profiles.eu.poolSize: must be 1 with the refresh_token grant (one refresh token is one rotation chain), got 3'],
    ['a pool that is a list', { profiles: { eu: { ...good, poolSize: [2] } } }, 'profiles.eu.poolSize: must be a string or a number'],
    ['a misspelt key', { profiles: { eu: { ...good, clientSecert: 'x' } } }, `profiles.eu.clientSecert: unknown key (expected ${PROFILE_KEYS})`],
    ['a profile name with a space', { profiles: { 'e u': good } }, 'profiles.e u: the name must be 1 to 64 of A-Z a-z 0-9 _ . -'],
    ['a profile name of 65 characters', { profiles: { ['p'.repeat(65)]: good } }, `profiles.${'p'.repeat(65)}: the name must be 1 to 64 of A-Z a-z 0-9 _ . -`],
    ['a profile that is not an object', { profiles: { eu: 'a' } }, 'profiles.eu: must be an object'],
    ['a default profile that does not exist', { defaultProfile: 'us', profiles: { eu: good } }, 'defaultProfile: no profile named "us"'],
    ['a default profile that is not a name', { defaultProfile: 1, profiles: { eu: good } }, 'defaultProfile: must be a profile name'],
    ['an unknown top-level key', { profile: {}, profiles: { eu: good } }, 'profile: unknown key (expected defaultProfile, profiles)'],
    ['no profiles', { profiles: {} }, 'profiles: must map at least one profile name to its settings'],
    ['profiles as a list', { profiles: [good] }, 'profiles: must map at least one profile name to its settings'],
    ['a document that is not an object', [good], 'must be an object with a "profiles" map'],
  ];
  for (const [wrong, document, problem] of rules) {
    it(`rejects ${wrong}, naming the file and the path in it`, () => {
      const path = json(document);
      assert.deepEqual(problemsOf(path), [`${path}: ${problem}`]);
    });
  }

  it('rejects a profile named "default" when the flat credentials also form one', () => {
    const path = json({ profiles: { default: { clientId: 'd', clientSecret: 's' } } });
    assert.deepEqual(problemsOf(path, { GENESYSCLOUD_OAUTHCLIENT_ID: 'flat', GENESYSCLOUD_OAUTHCLIENT_SECRET: 's' }), [
      `${path}: profiles.default: conflicts with the profile "default" formed by GENESYSCLOUD_OAUTHCLIENT_ID (--client-id) and its secret; rename one`,
    ]);
  });

  it('asks for the flat secret when only the flat client id accompanies a profiles file', () => {
    const problems = problemsOf(json({ profiles: { a: { clientId: 'a', clientSecret: 's' } } }), { GENESYSCLOUD_OAUTHCLIENT_ID: 'flat' });
    assert.deepEqual(problems, [
      'GENESYSCLOUD_OAUTHCLIENT_SECRET (--client-secret) or GENESYSCLOUD_OAUTHCLIENT_SECRET_FILE (--client-secret-file): required',
    ]);
  });

  it('reports a secret file it cannot read under the profile path', () => {
    const path = json({ profiles: { eu: { clientId: 'a', clientSecretFile: 'nowhere/secret' } } });
    assert.deepEqual(problemsOf(path), [`${path}: profiles.eu.clientSecretFile: cannot read ${JSON.stringify(join(dir, 'nowhere/secret'))} (ENOENT)`]);
  });

  // [what is wrong, extension, content, the problem after `SIDECAR_CONFIG (--config): "<path>" is `]
  const unreadable: ReadonlyArray<readonly [string, string, string, string]> = [
    ['broken JSON', '.json', `{\n  "profiles": {\n    "eu": { "clientSecret": "${SECRET}" "clientId": "a" }`, 'not valid JSON (line 3, column 58)'],
    ['broken YAML', '.yaml', `profiles:\n  eu:\n    clientSecret: "${SECRET}\n    clientId: a\n`, 'not valid YAML (MISSING_CHAR at line 5, column 1)'],
    ['YAML with a repeated key', '.yml', `profiles:\n  eu: {}\n  eu: {}\n`, 'not valid YAML (DUPLICATE_KEY at line 3, column 3)'],
    ['a file that is neither JSON nor YAML', '', `profiles: [${SECRET}`, 'not valid YAML (BAD_INDENT at line 1, column 38)'],
  ];
  for (const [wrong, extension, content, problem] of unreadable) {
    it(`rejects ${wrong} without quoting the file`, () => {
      const path = configFile(extension, content);
      assert.deepEqual(problemsOf(path), [`SIDECAR_CONFIG (--config): ${JSON.stringify(path)} is ${problem}`]);
    });
  }

  it('rejects a profiles file that does not exist', () => {
    const path = join(dir, 'absent.yaml');
    assert.deepEqual(problemsOf(path), [`SIDECAR_CONFIG (--config): cannot read ${JSON.stringify(path)} (ENOENT)`]);
  });

  it('reports every problem of every profile at once, next to the flat settings\' problems', () => {
    const path = json({
      defaultProfile: 'nope',
      profiles: {
        eu: { clientSecret: SECRET, poolSize: 999 },
        us: { clientId: 'u', clientSecret: SECRET, region: 'mars', extra: true },
      },
    });
    const problems = problemsOf(path, { PORT: 'x' });
    assert.deepEqual(problems.sort(), [
      'PORT (--port): must be an integer from 0 to 65535, got "x"',
      `${path}: defaultProfile: no profile named "nope"`,
      `${path}: profiles.eu.clientId: required`,
      `${path}: profiles.eu.poolSize: must be auto or an integer from 1 to 256, got "999"`,
      `${path}: profiles.us.extra: unknown key (expected ${PROFILE_KEYS})`,
      `${path}: profiles.us.region: must be a Genesys region as domain (euw2.pure.cloud), AWS-style name (eu-west-2) or SDK key (eu_west_2), got "mars"`,
    ].sort());
  });

  it('never shows a secret from the file in a problem', () => {
    const paths = [
      json({ profiles: { eu: { clientId: 'a', clientSecret: SECRET, refreshToken: SECRET, upstream: `https://u:${SECRET}@x.example` } } }),
      configFile('.json', `{"profiles":{"eu":{"clientSecret":"${SECRET}",,}}}`),
      configFile('.yaml', `profiles:\n  eu:\n    clientSecret: ${SECRET}\n   bad: [`),
    ];
    for (const path of paths) {
      const problems = problemsOf(path);
      assert.ok(problems.length > 0);
      for (const line of problems) assert.ok(!line.includes(SECRET), line);
    }
  });
});
