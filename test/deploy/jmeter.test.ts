import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseAllDocuments } from 'yaml';
import { asArray, asRecord, readRepoFile, readYaml } from './contract.js';
import { parseXml, walk, type XmlElement } from './xml.js';

const source = readRepoFile('docker/jmeter/users-me.jmx');
const plan = parseXml(source);

/** Properties the plan reads with ${__P(name,default)}, and their defaults. */
const PLAN_PROPERTIES: Record<string, string> = {
  host: '127.0.0.1',
  port: '8080',
  sidecarKey: '',
  path: '/api/v2/users/me',
  threads: '200',
  duration: '60',
  rampup: '10',
  results: 'results.jtl',
};

/** JMeter's own properties that a command line may set beside the plan's. */
const JMETER_PROPERTIES = ['sample_variables'];

const prop = (name: string) => `\${__P(${name},${PLAN_PROPERTIES[name]})}`;

function elements(testclass: string): XmlElement[] {
  return [...walk(plan)].filter((e) => e.attributes.testclass === testclass || e.name === testclass);
}

function single(testclass: string): XmlElement {
  const found = elements(testclass);
  assert.equal(found.length, 1, `one ${testclass}`);
  return found[0]!;
}

/** The text of a direct child property (stringProp, boolProp, intProp) named `name`. */
function property(element: XmlElement, name: string): string | undefined {
  return element.children.find((c) => c.name.endsWith('Prop') && c.attributes.name === name)?.text;
}

test('the plan is well-formed XML in JMeter\'s testplan format', () => {
  assert.equal(plan.name, 'jmeterTestPlan');
  assert.equal(plan.children.length, 1);
  assert.equal(plan.children[0]!.name, 'hashTree');
});

test('every element of the plan is followed by the hashTree of its children', () => {
  for (const tree of [...walk(plan)].filter((e) => e.name === 'hashTree')) {
    assert.equal(tree.children.length % 2, 0, 'hashTree children come in pairs');
    tree.children.forEach((child, i) => {
      if (i % 2 === 1) assert.equal(child.name, 'hashTree', `${tree.children[i - 1]!.name} is followed by its hashTree`);
      else assert.notEqual(child.name, 'hashTree', 'a hashTree follows an element, never another hashTree');
    });
  }
});

test('threads, duration and ramp-up come from properties, with the scheduler on', () => {
  const group = single('ThreadGroup');
  assert.equal(property(group, 'ThreadGroup.num_threads'), prop('threads'));
  assert.equal(property(group, 'ThreadGroup.ramp_time'), prop('rampup'));
  assert.equal(property(group, 'ThreadGroup.duration'), prop('duration'));
  assert.equal(property(group, 'ThreadGroup.scheduler'), 'true');
  const loop = group.children.find((c) => c.attributes.name === 'ThreadGroup.main_controller');
  assert.equal(property(loop!, 'LoopController.loops'), '-1', 'loops until the duration ends the run');
});

test('requests go over plain HTTP to the sidecar host and port properties', () => {
  const defaults = elements('ConfigTestElement').find((e) => e.attributes.guiclass === 'HttpDefaultsGui');
  assert.ok(defaults, 'HTTP Request Defaults');
  assert.equal(property(defaults, 'HTTPSampler.domain'), prop('host'));
  assert.equal(property(defaults, 'HTTPSampler.port'), prop('port'));
  assert.equal(property(defaults, 'HTTPSampler.protocol'), 'http');
});

test('the one sampler is a keep-alive GET of /api/v2/users/me that inherits the defaults', () => {
  const sampler = single('HTTPSamplerProxy');
  assert.equal(property(sampler, 'HTTPSampler.method'), 'GET');
  assert.equal(property(sampler, 'HTTPSampler.path'), prop('path'));
  assert.equal(PLAN_PROPERTIES.path, '/api/v2/users/me');
  assert.equal(property(sampler, 'HTTPSampler.use_keepalive'), 'true');
  for (const field of ['domain', 'port', 'protocol']) {
    assert.equal(property(sampler, `HTTPSampler.${field}`) ?? '', '', `the sampler leaves ${field} to the defaults`);
  }
});

test('the plan sends only Accept and x-sidecar-key headers, and no Authorization anywhere', () => {
  const headers = single('HeaderManager').children
    .filter((c) => c.attributes.name === 'HeaderManager.headers')
    .flatMap((c) => c.children)
    .map((h) => [property(h, 'Header.name'), property(h, 'Header.value')]);
  assert.deepEqual(headers, [['Accept', 'application/json'], ['x-sidecar-key', prop('sidecarKey')]]);
  assert.equal(elements('AuthManager').length, 0, 'no HTTP Authorization Manager');
  const markup = source.replace(/<!--[\s\S]*?-->/g, '');
  assert.doesNotMatch(markup, /authorization|bearer|access_token/i, 'no token handling in the plan');
});

test('every response is asserted to be 200', () => {
  const assertion = single('ResponseAssertion');
  assert.equal(property(assertion, 'Assertion.test_field'), 'Assertion.response_code');
  assert.equal(property(assertion, 'Assertion.test_type'), '8', 'Equals');
  const strings = assertion.children.find((c) => c.attributes.name === 'Asserion.test_strings');
  assert.deepEqual(strings?.children.map((s) => s.text), ['200']);
});

test('results are written to the results property', () => {
  const collector = single('ResultCollector');
  assert.equal(property(collector, 'filename'), prop('results'));
});

test('every property the plan reads is one of its documented properties, with the same default', () => {
  const used = [...source.matchAll(/\$\{__P\(([^,)]*),([^)]*)\)\}/g)].map((m) => [m[1]!, m[2]!] as const);
  assert.deepEqual([...new Set(used.map(([name]) => name))].sort(), Object.keys(PLAN_PROPERTIES).sort());
  for (const [name, fallback] of used) assert.equal(fallback, PLAN_PROPERTIES[name], `${name} defaults to ${PLAN_PROPERTIES[name]} everywhere`);
  const otherFunctions = [...source.matchAll(/\$\{(?!__P\()[^}]*\}/g)].map((m) => m[0]);
  assert.deepEqual(otherFunctions, [], 'no variables or functions beyond __P');
});

test('compose and Kubernetes pass only -J properties the plan reads', () => {
  const commands: unknown[][] = [];
  const services = asRecord(asRecord(readYaml('docker-compose.yml'), 'compose').services, 'services');
  for (const service of Object.values(services)) {
    const command = asRecord(service, 'service').command;
    if (Array.isArray(command) && command.includes('-t')) commands.push(command);
  }
  for (const doc of parseAllDocuments(readRepoFile('docker/k8s/loadtest.yaml'))) {
    const spec = (doc.toJS() as { spec?: { template?: { spec?: { containers?: { args?: unknown[] }[] } } } }).spec;
    for (const container of spec?.template?.spec?.containers ?? []) if (container.args?.includes('-t')) commands.push(container.args);
  }
  assert.ok(commands.length >= 3, 'two compose generators and the Kubernetes one');
  for (const command of commands) {
    for (const arg of asArray(command, 'command').map(String).filter((a) => a.startsWith('-J'))) {
      const name = arg.slice(2).split('=')[0]!;
      assert.ok(name in PLAN_PROPERTIES || JMETER_PROPERTIES.includes(name), `-J${name} is a property of users-me.jmx or of JMeter`);
    }
  }
});
