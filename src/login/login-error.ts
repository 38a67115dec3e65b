/**
 * Why a login failed after its settings were accepted (exit 1). The message is shown as it is: it
 * carries the OAuth `error` and its description when there are any, and never a code, token or
 * code verifier.
 */
export class LoginError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'LoginError';
  }
}
