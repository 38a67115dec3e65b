import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { readRepoFile } from './contract.js';
import { parseXml, walk, type XmlElement } from './xml.js';

// The shipped JMeter plans beyond users-me.jmx's own checks (jmeter.test.ts): every plan records
// the sidecar's Server-Timing durations as sample variables; paced.jmx is paced by a throughput
// timer at -Jrate; users-csv.jmx sends a profile per request from users.csv.
const PLANS = ['users-me.jmx', 'paced.jmx', 'users-csv.jmx'] as const;

function load(name: string): XmlElement {
  return parseXml(readRepoFile(`docker/jmeter/${name}`));
}

function byClass(plan: XmlElement, testclass: string): XmlElement[] {
  return [...walk(plan)].filter((e) => e.attributes.testclass === testclass);
}

function property(element: XmlElement, name: string): string | undefined {
  return element.children.find((c) => c.name.endsWith('Prop') && c.attributes.name === name)?.text;
}

/** A Server-Timing header as the sidecar sends it, after an upstream's own entries, among other headers. */
const HEADERS = [
  'HTTP/1.1 200 OK',
  'content-type: application/json',
  'Server-Timing: db;dur=53, cache;desc="hit", sidecar;dur=0.42, token;dur=0, budget;dur=0, upstream;dur=12.5',
  'x-upstream-sidecar-note: sidecar;dur=99',
  '',
].join('\r\n');

/** JMeter's extractor regex as a JavaScript one: a leading (?i) becomes the `i` flag. */
function asJavaScript(regex: string): RegExp {
  return regex.startsWith('(?i)') ? new RegExp(regex.slice(4), 'i') : new RegExp(regex);
}

describe('the shipped JMeter plans', () => {
  for (const name of PLANS) {
    it(`${name} extracts sidecar_ms and upstream_ms from the response's Server-Timing header`, () => {
      const plan = load(name);
      const extractors = byClass(plan, 'RegexExtractor');
      const found = Object.fromEntries(extractors.map((e) => [property(e, 'RegexExtractor.refname'), e]));
      assert.deepEqual(Object.keys(found).sort(), ['sidecar_ms', 'upstream_ms']);
      for (const [variable, expected] of [['sidecar_ms', '0.42'], ['upstream_ms', '12.5']] as const) {
        const extractor = found[variable]!;
        assert.equal(property(extractor, 'RegexExtractor.useHeaders'), 'true', 'reads the response headers');
        assert.equal(property(extractor, 'RegexExtractor.template'), '$1$');
        assert.equal(property(extractor, 'RegexExtractor.match_number'), '1');
        const regex = asJavaScript(property(extractor, 'RegexExtractor.regex')!);
        assert.equal(regex.exec(HEADERS)?.[1], expected, variable);
        assert.equal(regex.exec(HEADERS.toLowerCase().replace('server-timing', 'Server-timing'))?.[1], expected, 'any header-name case');
        assert.equal(regex.exec('content-type: text/plain\r\nx-other: sidecar;dur=5\r\n'), null, 'nothing outside Server-Timing');
      }
    });

    it(`${name} is a JMeter 5 plan (the save format the README names)`, () => {
      const plan = load(name);
      assert.equal(plan.attributes.properties, '5.0');
      assert.match(plan.attributes.jmeter ?? '', /^5\./);
    });
  }

  it('user.properties beside the plans saves both variables with every sample', () => {
    const lines = readRepoFile('docker/jmeter/user.properties').split('\n').filter((l) => l.trim() !== '' && !l.startsWith('#'));
    assert.deepEqual(lines, ['sample_variables=sidecar_ms,upstream_ms']);
  });

  it('paced.jmx paces its thread group with a Precise Throughput Timer at -Jrate requests per second', () => {
    const plan = load('paced.jmx');
    const [timer, ...others] = byClass(plan, 'PreciseThroughputTimer');
    assert.ok(timer, 'a Precise Throughput Timer');
    assert.equal(others.length, 0);
    assert.equal(property(timer, 'throughput'), '${__P(rate,10)}');
    assert.equal(property(timer, 'throughputPeriod'), '1', 'per second');
    assert.equal(property(timer, 'duration'), '${__P(duration,60)}');
    // In the thread group's tree, so it paces every sampler of the group.
    const group = [...walk(plan)].find((e) => e.name === 'hashTree' && e.children.some((c) => c === timer));
    const groupTree = [...walk(plan)].find((e) => e.name === 'hashTree' && e.children.some((c) => c.attributes.testclass === 'ThreadGroup'));
    const groupIndex = groupTree!.children.findIndex((c) => c.attributes.testclass === 'ThreadGroup');
    assert.equal(group, groupTree!.children[groupIndex + 1], 'the timer is a direct child of the thread group');
  });

  it('users-csv.jmx reads users.csv, shared and recycled, and sends each line as x-token-profile', () => {
    const plan = load('users-csv.jmx');
    const [csv] = byClass(plan, 'CSVDataSet');
    assert.ok(csv);
    assert.equal(property(csv, 'filename'), '${__P(users,users.csv)}');
    assert.equal(property(csv, 'variableNames'), '', 'the header line names the variable');
    assert.equal(property(csv, 'recycle'), 'true');
    assert.equal(property(csv, 'shareMode'), 'shareMode.all');
    assert.equal(readRepoFile('docker/jmeter/users.csv').split('\n')[0], 'profile');
    const headers = byClass(plan, 'HeaderManager')[0]!.children
      .flatMap((c) => c.children)
      .map((h) => [property(h, 'Header.name'), property(h, 'Header.value')]);
    assert.deepEqual(headers.find(([header]) => header === 'x-token-profile'), ['x-token-profile', '${profile}']);
  });
});
