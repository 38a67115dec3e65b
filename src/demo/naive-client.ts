import { request, type Dispatcher } from 'undici';

/**
 * The demo's "without the sidecar" side: every client manages its own token the way JMeter plans in
 * the wild do. A client fetches a token before its first request (client-credentials grant, Basic
 * auth), sends it on every request, and drops it after a 401 so that its next iteration fetches a new
 * one. Nothing is shared between clients: N clients mean N tokens, and against an upstream that
 * revokes older tokens on issue each fetch breaks everyone else's token.
 */
export class NaiveClients {
  private readonly tokens: (string | undefined)[];
  private readonly basicAuth: string;

  constructor(
    private readonly upstreamUrl: string,
    credentials: { clientId: string; clientSecret: string },
    clients: number,
  ) {
    this.tokens = new Array<string | undefined>(clients).fill(undefined);
    this.basicAuth = `Basic ${Buffer.from(`${credentials.clientId}:${credentials.clientSecret}`).toString('base64')}`;
  }

  /**
   * One iteration of client `index`, as runLoad's `step`: (re)fetch its token if it has none, then
   * one API request. Resolves with the API status, or the token endpoint's status when that failed.
   * A token fetch is part of the iteration's latency, as it is for a JMeter thread.
   */
  readonly step = async (index: number, dispatcher: Dispatcher, path: string): Promise<number> => {
    let token = this.tokens[index];
    if (token === undefined) {
      const fetched = await this.fetchToken(dispatcher);
      if (typeof fetched === 'number') return fetched;
      token = this.tokens[index] = fetched;
    }
    const response = await request(`${this.upstreamUrl}${path}`, { dispatcher, headers: { authorization: `Bearer ${token}` } });
    await response.body.dump();
    if (response.statusCode === 401) this.tokens[index] = undefined;
    return response.statusCode;
  };

  /** The access token, or the status of a failed token request. */
  private async fetchToken(dispatcher: Dispatcher): Promise<string | number> {
    const response = await request(`${this.upstreamUrl}/oauth/token`, {
      dispatcher,
      method: 'POST',
      headers: { authorization: this.basicAuth, 'content-type': 'application/x-www-form-urlencoded' },
      body: 'grant_type=client_credentials',
    });
    if (response.statusCode !== 200) {
      await response.body.dump();
      return response.statusCode;
    }
    const { access_token: accessToken } = (await response.body.json()) as { access_token: string };
    return accessToken;
  }
}
