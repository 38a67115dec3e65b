// Shared setup for the mock upstream's tests: a real server on port 0, a clock tests move by hand,
// and a token-endpoint client.
import { createHash, randomBytes } from 'node:crypto';
import type { TestContext } from 'node:test';
import { FakeClock } from '../helpers/fake-clock.js';
import { buildMockUpstream, type MockUpstream } from '../../src/mock/app.js';
import type { MockOptions } from '../../src/mock/options.js';

/** The clock tests drive the mock with: the shared FakeClock, started at a fixed date. */
export function mockClock(): FakeClock {
  return new FakeClock(Date.parse('2026-01-01T00:00:00Z'));
}

export interface RunningMock extends MockUpstream {
  base: string;
}

/** Builds the mock with these options, listens on a free port, and closes it when the test ends. */
export async function startMock(
  t: TestContext,
  options: Partial<MockOptions> = {},
  clock?: FakeClock,
): Promise<RunningMock> {
  const mock = buildMockUpstream(options, { clock });
  const base = await mock.app.listen({ port: 0, host: '127.0.0.1' });
  t.after(() => mock.app.close());
  return { ...mock, base };
}

export function basicAuth(id = 'demo-client', secret = 'demo-secret'): string {
  return `Basic ${Buffer.from(`${id}:${secret}`).toString('base64')}`;
}

/** POSTs a form to /oauth/token with the default demo credentials unless `authorization` is given. */
export function postToken(base: string, form: Record<string, string>, authorization: string | null = basicAuth()) {
  const headers: Record<string, string> = { 'content-type': 'application/x-www-form-urlencoded' };
  if (authorization !== null) headers.authorization = authorization;
  return fetch(`${base}/oauth/token`, { method: 'POST', headers, body: new URLSearchParams(form).toString() });
}

export interface TokenAnswer {
  access_token: string;
  token_type: string;
  expires_in: number;
  refresh_token?: string;
}

export async function clientCredentialsToken(base: string): Promise<string> {
  const response = await postToken(base, { grant_type: 'client_credentials' });
  if (response.status !== 200) throw new Error(`token request failed: ${response.status} ${await response.text()}`);
  return ((await response.json()) as TokenAnswer).access_token;
}

export async function userToken(base: string, refreshToken = 'demo-refresh-token'): Promise<TokenAnswer> {
  const response = await postToken(base, { grant_type: 'refresh_token', refresh_token: refreshToken });
  if (response.status !== 200) throw new Error(`refresh failed: ${response.status} ${await response.text()}`);
  return (await response.json()) as TokenAnswer;
}

export function callApi(base: string, path: string, token?: string, init: RequestInit = {}) {
  const headers = new Headers(init.headers);
  if (token !== undefined) headers.set('authorization', `Bearer ${token}`);
  return fetch(`${base}${path}`, { ...init, headers });
}

/**
 * A user-context token of `username` (one of the mock's --users), through the login page and the
 * code exchange of the confidential client, as a browser and a back end would get it.
 */
export async function loggedInUserToken(base: string, username: string, password = `${username}-password`): Promise<TokenAnswer> {
  const redirectUri = 'http://127.0.0.1:8085/callback';
  const verifier = randomBytes(32).toString('base64url');
  const challenge = createHash('sha256').update(verifier).digest('base64url');
  const login = await fetch(`${base}/oauth/authorize`, {
    method: 'POST',
    redirect: 'manual',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({
      response_type: 'code', client_id: 'demo-client', redirect_uri: redirectUri, state: 's',
      code_challenge: challenge, code_challenge_method: 'S256', username, password, decision: 'approve',
    }).toString(),
  });
  const code = new URL(login.headers.get('location') ?? 'http://invalid/').searchParams.get('code');
  if (login.status !== 302 || code === null) throw new Error(`login of ${username} failed: ${login.status}`);
  const response = await postToken(base, { grant_type: 'authorization_code', code, redirect_uri: redirectUri, code_verifier: verifier });
  if (response.status !== 200) throw new Error(`code exchange failed: ${response.status} ${await response.text()}`);
  return (await response.json()) as TokenAnswer;
}
