/**
 * The Genesys Cloud regions (docs/genesys.md §9, from the JS SDK's PureCloudRegionHosts.js). A region is
 * named three ways: its domain (`euw2.pure.cloud`), its AWS-style name (`eu-west-2`) and the SDK's key
 * (`eu_west_2`). The API and login hosts are `api.<domain>` and `login.<domain>`, as the SDK derives them.
 */
export interface Region {
  /** The JS SDK's `PureCloudRegionHosts` key, e.g. `eu_west_2`. */
  readonly sdkKey: string;
  /** AWS-style name, e.g. `eu-west-2`: the SDK key with dashes. */
  readonly awsName: string;
  readonly domain: string;
  /** `https://api.<domain>`: the API base requests are forwarded to. */
  readonly apiBase: string;
  /** `https://login.<domain>/oauth/token`: the OAuth2 token endpoint. */
  readonly tokenUrl: string;
}

/** SDK key -> domain, in the SDK's order. */
const DOMAINS: ReadonlyArray<readonly [sdkKey: string, domain: string]> = [
  ['us_east_1', 'mypurecloud.com'],
  ['us_east_2', 'use2.us-gov-pure.cloud'],
  ['us_west_2', 'usw2.pure.cloud'],
  ['ca_central_1', 'cac1.pure.cloud'],
  ['sa_east_1', 'sae1.pure.cloud'],
  ['mx_central_1', 'mxc1.pure.cloud'],
  ['eu_west_1', 'mypurecloud.ie'],
  ['eu_west_2', 'euw2.pure.cloud'],
  ['eu_central_1', 'mypurecloud.de'],
  ['eu_central_2', 'euc2.pure.cloud'],
  ['eusc_de_east_1', 'edee1.eusc-pure.cloud'],
  ['me_central_1', 'mec1.pure.cloud'],
  ['ap_south_1', 'aps1.pure.cloud'],
  ['ap_southeast_1', 'apse1.pure.cloud'],
  ['ap_southeast_2', 'mypurecloud.com.au'],
  ['ap_northeast_1', 'mypurecloud.jp'],
  ['ap_northeast_2', 'apne2.pure.cloud'],
  ['ap_northeast_3', 'apne3.pure.cloud'],
];

export const REGIONS: readonly Region[] = Object.freeze(
  DOMAINS.map(([sdkKey, domain]) =>
    Object.freeze({
      sdkKey,
      awsName: sdkKey.replaceAll('_', '-'),
      domain,
      apiBase: `https://api.${domain}`,
      tokenUrl: `https://login.${domain}/oauth/token`,
    }),
  ),
);

/** Every accepted spelling (lower case) -> its region. The three forms never collide. */
const BY_NAME: ReadonlyMap<string, Region> = new Map(
  REGIONS.flatMap((region) => [region.sdkKey, region.awsName, region.domain].map((name) => [name, region] as const)),
);

/** The region named by `input` in any of its three forms, case-insensitive and trimmed. */
export function resolveRegion(input: string): Region | undefined {
  return BY_NAME.get(input.trim().toLowerCase());
}

/**
 * Whether a token URL is a Genesys region's (`https://login.<region domain>/...`): such a profile
 * talks to Genesys Cloud, whose per-token rate limit the sidecar knows (docs/genesys.md §5).
 */
export function isGenesysTokenUrl(tokenUrl: string): boolean {
  let host: string;
  try {
    host = new URL(tokenUrl).hostname.toLowerCase();
  } catch {
    return false;
  }
  return REGIONS.some((region) => host === `login.${region.domain}`);
}
