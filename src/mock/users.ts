/**
 * The people the mock knows: who may log in at /oauth/authorize (--users), and whom a user-context
 * token belongs to, so GET /api/v2/users/me can answer with that user. The refresh token accepted from
 * the start (--refresh-token) belongs to SEED_USER, who cannot log in.
 */

export interface MockUser {
  readonly id: string;
  /** The display name (Genesys `name`). */
  readonly name: string;
  /** What the login form asks for; also the local part of `email`. */
  readonly username: string;
  /** Only compared by the login form; never part of an API answer. */
  readonly password: string;
}

/** Ids look like Genesys user ids (UUIDs) and are stable: the Nth user of --users always gets the same one. */
function userId(series: number, index: number): string {
  return `7d1a0f5e-0000-4000-8000-${(series * 0x1000 + index).toString(16).padStart(12, '0')}`;
}

/** The owner of the seed refresh token (--refresh-token): the user-context grant works without a login. */
export const SEED_USER: MockUser = Object.freeze({
  id: '7d1a0f5e-0000-4000-8000-00000000b001',
  name: 'Mock User',
  username: 'mock.user',
  password: '',
});

/** `alice:alice-password,bob:bob-password,carol:carol-password`, the --users default. */
export const DEFAULT_USERS_SPEC = ['alice', 'bob', 'carol'].map((name) => `${name}:${name}-password`).join(',');

const USERNAME = /^[A-Za-z0-9_.@-]{1,64}$/;

/**
 * Parses `name:password[:Display Name]` entries separated by commas. The display name defaults to the
 * user name with a capital first letter. Returns the users or the rule the text broke.
 */
export function parseUsers(spec: string): { users: readonly MockUser[] } | { rule: string } {
  const entries = spec.split(',').map((entry) => entry.trim()).filter((entry) => entry !== '');
  const rule = 'a comma-separated list of name:password (or name:password:Display Name), unique names of A-Z a-z 0-9 _ . @ -';
  if (entries.length === 0) return { rule };
  const users: MockUser[] = [];
  for (const [index, entry] of entries.entries()) {
    const [username = '', password = '', ...display] = entry.split(':');
    if (!USERNAME.test(username) || password === '' || users.some((user) => user.username === username)) return { rule };
    const name = display.join(':').trim() || username.charAt(0).toUpperCase() + username.slice(1);
    users.push(Object.freeze({ id: userId(0xc, index + 1), name, username, password }));
  }
  return { users: Object.freeze(users) };
}

/** The body of GET /api/v2/users/me for this user (a Genesys User, trimmed to the common fields). */
export function userResource(user: MockUser) {
  const email = user.username.includes('@') ? user.username : `${user.username}@example.com`;
  return {
    id: user.id,
    name: user.name,
    email,
    username: email,
    state: 'active',
    version: 1,
    selfUri: `/api/v2/users/${user.id}`,
  };
}
