/**
 * Drives `token-sidecar login` in tests: starts the built CLI against a mock, hands back the
 * authorization URL from the first line of its stdout, and plays the browser's part over plain HTTP
 * (the login form's POST, then the redirect to the callback) where a real browser is not the point.
 */
import { freePort, startCli, type RunningProcess } from './processes.js';

export interface LoginRun {
  readonly proc: RunningProcess;
  readonly port: number;
  /** Everything written to stdout so far. */
  stdout(): string;
  /** The first line of stdout: the authorization URL. */
  readonly authorizationUrl: Promise<string>;
}

/** `login --no-browser` against the mock at `mockUrl`, its callback on `port`. */
export function startLogin(mockUrl: string, port: number, args: string[] = [], env: Record<string, string> = {}): LoginRun {
  const proc = startCli(['login', '--no-browser', ...args], {
    GENESYSCLOUD_OAUTHCLIENT_ID: 'demo-client',
    GENESYSCLOUD_OAUTHCLIENT_SECRET: 'demo-secret',
    UPSTREAM_URL: mockUrl,
    TOKEN_URL: `${mockUrl}/oauth/token`,
    LOGIN_PORT: String(port),
    ...env,
  });
  let stdout = '';
  const authorizationUrl = new Promise<string>((resolve, reject) => {
    proc.child.stdout!.on('data', (chunk: Buffer) => {
      stdout += chunk.toString();
      const newline = stdout.indexOf('\n');
      if (newline !== -1) resolve(stdout.slice(0, newline));
    });
    void proc.exited.then((code) => reject(new Error(`login exited (${code}) before printing a URL:\n${proc.output()}`)));
  });
  authorizationUrl.catch(() => {});
  return { proc, port, stdout: () => stdout, authorizationUrl };
}

/** A free port for the callback, and the mock flag that registers its redirect URI. */
export async function callbackPort(): Promise<{ port: number; redirectUris: string[] }> {
  const port = await freePort();
  return { port, redirectUris: ['--redirect-uris', `http://127.0.0.1:${port}/callback`] };
}

/**
 * Submits the mock's login form for the request in `authorizationUrl` (what the page's hidden fields
 * carry) and returns where the mock redirects the browser: the callback URL with code or error.
 */
export async function submitLoginForm(
  authorizationUrl: string,
  form: { username?: string; password?: string; decision: 'approve' | 'deny' },
): Promise<URL> {
  const url = new URL(authorizationUrl);
  const body = new URLSearchParams(url.searchParams);
  for (const [name, value] of Object.entries(form)) body.set(name, value);
  const response = await fetch(`${url.origin}${url.pathname}`, {
    method: 'POST',
    redirect: 'manual',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: body.toString(),
  });
  const location = response.headers.get('location');
  if (response.status !== 302 || location === null) throw new Error(`login form answered ${response.status}: ${await response.text()}`);
  return new URL(location);
}

/** The browser following the redirect to login's callback: the page login answers with. */
export async function followToCallback(location: URL): Promise<{ status: number; text: string }> {
  const response = await fetch(location);
  return { status: response.status, text: await response.text() };
}

/** Logs `username` in for the login run (form, then callback) and waits for the command to end. */
export async function loginAs(run: LoginRun, username: string, password = `${username}-password`): Promise<number | string> {
  const location = await submitLoginForm(await run.authorizationUrl, { username, password, decision: 'approve' });
  await followToCallback(location);
  return run.proc.exited;
}
