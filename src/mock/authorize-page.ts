/**
 * The HTML of the mock's login page (/oauth/authorize): a user name, a password, Approve and Deny.
 * The authorization request's parameters ride along as hidden fields, so the POST carries everything
 * the GET was given. Every value is escaped: `state` and the rest come from whoever built the URL.
 */

/** The authorization request parameters the page carries from GET to POST. */
export const CARRIED_PARAMETERS = [
  'response_type', 'client_id', 'redirect_uri', 'state', 'scope', 'code_challenge', 'code_challenge_method',
] as const;

export type AuthorizationParameters = Partial<Record<(typeof CARRIED_PARAMETERS)[number], string>>;

const ESCAPES: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' };

export function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (char) => ESCAPES[char]!);
}

function page(title: string, body: string): string {
  return [
    '<!doctype html>',
    '<html lang="en"><head><meta charset="utf-8">',
    `<title>${escapeHtml(title)}</title>`,
    '<style>body{font-family:sans-serif;max-width:24rem;margin:3rem auto}label{display:block;margin:.6rem 0}',
    'input{width:100%}.error{color:#b00}</style>',
    '</head><body>',
    body,
    '</body></html>',
  ].join('\n');
}

/** The login form; `error` is shown above it after a wrong user name or password. */
export function loginPage(parameters: AuthorizationParameters, clientId: string, error?: string): string {
  const hidden = CARRIED_PARAMETERS.flatMap((name) => {
    const value = parameters[name];
    return value === undefined ? [] : [`<input type="hidden" name="${name}" value="${escapeHtml(value)}">`];
  });
  return page('Sign in: token-sidecar mock', [
    '<h1>Sign in</h1>',
    `<p>The application <strong>${escapeHtml(clientId)}</strong> asks to act for you.</p>`,
    ...(error === undefined ? [] : [`<p class="error" role="alert">${escapeHtml(error)}</p>`]),
    '<form method="post" action="/oauth/authorize">',
    ...hidden,
    '<label>User name <input name="username" autocomplete="username"></label>',
    '<label>Password <input name="password" type="password" autocomplete="current-password"></label>',
    '<button type="submit" name="decision" value="approve">Approve</button>',
    '<button type="submit" name="decision" value="deny">Deny</button>',
    '</form>',
  ].join('\n'));
}

/** Shown instead of a redirect when the client or the redirect URI cannot be trusted (RFC 6749 §4.1.2.1). */
export function errorPage(error: string, description: string): string {
  return page('Authorization error: token-sidecar mock', [
    '<h1>Authorization error</h1>',
    `<p class="error" role="alert"><code>${escapeHtml(error)}</code>: ${escapeHtml(description)}</p>`,
  ].join('\n'));
}
