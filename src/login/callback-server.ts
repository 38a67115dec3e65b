import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { Clock } from '../token/clock.js';
import { LoginError } from './login-error.js';
import { sameState } from './pkce.js';

/**
 * The loopback redirect target of one login (RFC 8252 §7.3): `http://127.0.0.1:<port>/callback`,
 * bound to 127.0.0.1 only. It takes exactly one answer from the authorization server:
 *
 * - `state` is checked first, on every answer, error answers included: a mismatch ends the login
 *   (a stale tab or a forged request; nothing is exchanged);
 * - `error` (access_denied, invalid_request, ...) ends it with that error and its description;
 * - a `code` is handed to the caller with a way to answer the browser once the exchange is done.
 *
 * Other paths get a 404 (browsers ask for /favicon.ico), answers after the first get a 409. The
 * request URL (it holds the code) is never logged or echoed.
 */
export interface CallbackServer {
  readonly redirectUri: string;
  /**
   * Resolves with the code and a way to answer the browser, or rejects with LoginError (state
   * mismatch, OAuth error, timeout). Call once.
   */
  waitForCode(expectedState: string, timeoutMs: number): Promise<ReceivedCode>;
  close(): Promise<void>;
}

export interface ReceivedCode {
  readonly code: string;
  /** Answers the browser's waiting request with a short page (the first call only); the login does not wait for it. */
  readonly answerBrowser: (ok: boolean, message: string) => void;
}

type Outcome = { code: string; response: ServerResponse } | { error: LoginError };

function page(ok: boolean, message: string): string {
  const escaped = message.replace(/[&<>"']/g, (char) => `&#${char.charCodeAt(0)};`);
  const title = ok ? 'Logged in' : 'Login failed';
  return `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>${title}: token-sidecar</title></head>` +
    `<body><h1>${title}</h1><p>${escaped}</p><p>You can close this tab and return to the terminal.</p></body></html>`;
}

function send(response: ServerResponse, status: number, ok: boolean, message: string): void {
  response.writeHead(status, { 'content-type': 'text/html; charset=utf-8', 'cache-control': 'no-store', connection: 'close' });
  response.end(page(ok, message));
}

export async function startCallbackServer(port: number, clock: Clock): Promise<CallbackServer> {
  let deliver: ((outcome: Outcome) => void) | undefined;
  let answered = false;
  let expected = '';

  const server: Server = createServer((request: IncomingMessage, response: ServerResponse) => {
    const url = new URL(request.url ?? '/', 'http://127.0.0.1');
    if (url.pathname !== '/callback' || request.method !== 'GET') {
      response.writeHead(404, { 'content-type': 'text/plain; charset=utf-8' }).end('not found\n');
      return;
    }
    if (answered || deliver === undefined) {
      send(response, 409, false, 'This login has already received its answer (or is not waiting for one).');
      return;
    }
    answered = true;
    const query = url.searchParams;
    const oauthError = query.get('error');
    const code = query.get('code');
    let error: LoginError | undefined;
    if (!sameState(expected, query.get('state') ?? undefined)) {
      error = new LoginError('state mismatch: the answer that reached the callback is not for this login (a stale browser tab or a forged request); nothing was exchanged');
    } else if (oauthError !== null) {
      const description = query.get('error_description');
      error = new LoginError(`the authorization server answered ${oauthError.slice(0, 100)}${description ? `: ${description.slice(0, 300)}` : ''}`);
    } else if (code === null || code === '') {
      error = new LoginError('the callback carried neither a code nor an error');
    }
    if (error !== undefined) {
      send(response, 400, false, error.message);
      deliver({ error });
    } else {
      deliver({ code: code!, response });
    }
  });
  server.on('connection', (socket) => socket.unref());

  await new Promise<void>((resolve, reject) => {
    server.once('error', (err: NodeJS.ErrnoException) =>
      reject(new LoginError(`cannot listen on 127.0.0.1:${port} for the callback (${err.code ?? err.message}): is another login running? LOGIN_PORT (--login-port) chooses the port, and the OAuth client must list the matching redirect URI`)),
    );
    server.listen(port, '127.0.0.1', () => resolve());
  });

  return {
    redirectUri: `http://127.0.0.1:${port}/callback`,
    waitForCode(expectedState, timeoutMs) {
      expected = expectedState;
      return new Promise<ReceivedCode>((resolve, reject) => {
        const timer = clock.setTimeout(() => {
          deliver = undefined;
          reject(new LoginError(`timed out after ${Math.round(timeoutMs / 1000)} s waiting for the browser to return to http://127.0.0.1:${port}/callback (--timeout)`));
        }, timeoutMs);
        deliver = (outcome) => {
          clock.clearTimeout(timer);
          deliver = undefined;
          if ('error' in outcome) {
            reject(outcome.error);
            return;
          }
          const { response } = outcome;
          let sent = false;
          const answerBrowser = (ok: boolean, message: string) => {
            if (sent) return;
            sent = true;
            send(response, ok ? 200 : 400, ok, message);
          };
          resolve({ code: outcome.code, answerBrowser });
        };
      });
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
