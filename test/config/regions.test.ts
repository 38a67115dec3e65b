import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { REGIONS, resolveRegion } from '../../src/config/regions.js';

/** docs/genesys.md §9, copied by hand so the data in regions.ts is checked against the source table. */
const EXPECTED: ReadonlyArray<readonly [sdkKey: string, awsName: string, domain: string]> = [
  ['us_east_1', 'us-east-1', 'mypurecloud.com'],
  ['us_east_2', 'us-east-2', 'use2.us-gov-pure.cloud'],
  ['us_west_2', 'us-west-2', 'usw2.pure.cloud'],
  ['ca_central_1', 'ca-central-1', 'cac1.pure.cloud'],
  ['sa_east_1', 'sa-east-1', 'sae1.pure.cloud'],
  ['mx_central_1', 'mx-central-1', 'mxc1.pure.cloud'],
  ['eu_west_1', 'eu-west-1', 'mypurecloud.ie'],
  ['eu_west_2', 'eu-west-2', 'euw2.pure.cloud'],
  ['eu_central_1', 'eu-central-1', 'mypurecloud.de'],
  ['eu_central_2', 'eu-central-2', 'euc2.pure.cloud'],
  ['eusc_de_east_1', 'eusc-de-east-1', 'edee1.eusc-pure.cloud'],
  ['me_central_1', 'me-central-1', 'mec1.pure.cloud'],
  ['ap_south_1', 'ap-south-1', 'aps1.pure.cloud'],
  ['ap_southeast_1', 'ap-southeast-1', 'apse1.pure.cloud'],
  ['ap_southeast_2', 'ap-southeast-2', 'mypurecloud.com.au'],
  ['ap_northeast_1', 'ap-northeast-1', 'mypurecloud.jp'],
  ['ap_northeast_2', 'ap-northeast-2', 'apne2.pure.cloud'],
  ['ap_northeast_3', 'ap-northeast-3', 'apne3.pure.cloud'],
];

describe('Genesys regions', () => {
  it('lists exactly the 18 regions of the SDK, in its order', () => {
    assert.deepEqual(
      REGIONS.map((r) => [r.sdkKey, r.awsName, r.domain]),
      EXPECTED.map((row) => [...row]),
    );
  });

  for (const [sdkKey, awsName, domain] of EXPECTED) {
    it(`resolves ${domain}, ${awsName} and ${sdkKey} to the same region with api. and login. hosts`, () => {
      for (const name of [domain, awsName, sdkKey]) {
        const region = resolveRegion(name);
        assert.equal(region?.sdkKey, sdkKey, name);
        assert.equal(region.apiBase, `https://api.${domain}`);
        assert.equal(region.tokenUrl, `https://login.${domain}/oauth/token`);
      }
    });
  }

  const spellings: ReadonlyArray<readonly [input: string, sdkKey: string]> = [
    ['EUW2.PURE.CLOUD', 'eu_west_2'],
    ['  eu-west-2\n', 'eu_west_2'],
    ['AP_NORTHEAST_1', 'ap_northeast_1'],
    ['MyPureCloud.com', 'us_east_1'],
  ];
  for (const [input, sdkKey] of spellings) {
    it(`ignores case and surrounding whitespace: ${JSON.stringify(input)} is ${sdkKey}`, () => {
      assert.equal(resolveRegion(input)?.sdkKey, sdkKey);
    });
  }

  for (const input of ['', 'mars', 'api.mypurecloud.com', 'https://mypurecloud.com', 'eu-west-9', 'pure.cloud']) {
    it(`does not resolve ${JSON.stringify(input)}`, () => {
      assert.equal(resolveRegion(input), undefined);
    });
  }

  it('keeps its data frozen', () => {
    assert.ok(Object.isFrozen(REGIONS));
    assert.ok(REGIONS.every((region) => Object.isFrozen(region)));
  });
});
