import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseAllDocuments } from 'yaml';
import { CONTRACT_ENV, asArray, asRecord, asString, readRepoFile } from './contract.js';
import { SETTINGS } from '../../src/config/settings.js';

type Obj = Record<string, unknown>;

function manifests(file: string): Obj[] {
  return parseAllDocuments(readRepoFile(`docker/k8s/${file}`)).map((doc, i) => {
    assert.deepEqual(doc.errors, [], `${file} document ${i + 1} parses`);
    return asRecord(doc.toJS(), `${file} document ${i + 1}`);
  });
}

function byKind(docs: Obj[], kind: string): Obj {
  const found = docs.filter((d) => d.kind === kind);
  assert.equal(found.length, 1, `one ${kind}`);
  return found[0]!;
}

const loadtest = manifests('loadtest.yaml');
const redis = manifests('redis.yaml');
const secrets = manifests('secret.example.yaml').filter((doc) => doc.kind === 'Secret');
const secretNamed = (name: string) => {
  const found = secrets.find((doc) => asRecord(doc.metadata, 'metadata').name === name);
  assert.ok(found, `secret.example.yaml has a Secret ${name}`);
  return found;
};
const secret = secretNamed('genesys-oauth');
const job = byKind(loadtest, 'Job');
const podSpec = asRecord(asRecord(asRecord(job.spec, 'Job.spec').template, 'template').spec, 'pod spec');
const initContainers = asArray(podSpec.initContainers ?? [], 'initContainers').map((c) => asRecord(c, 'initContainer'));
const containers = asArray(podSpec.containers, 'containers').map((c) => asRecord(c, 'container'));
const everyContainer = [...initContainers, ...containers];
const sidecar = everyContainer.find((c) => String(c.image).startsWith('token-sidecar:'));
const jmeter = containers.find((c) => String(c.image).includes('jmeter'));

function envOf(container: Obj): Map<string, Obj> {
  return new Map(asArray(container.env ?? [], 'env').map((e) => {
    const entry = asRecord(e, 'env entry');
    return [asString(entry.name, 'env name'), entry];
  }));
}

function envValue(container: Obj, name: string): string {
  const entry = envOf(container).get(name);
  assert.ok(entry, `${String(container.name)} sets ${name}`);
  return asString(entry.value, name);
}

/** A probe's port as a number, resolving a named container port. */
function probePort(container: Obj, probe: Obj): number {
  const port = asRecord(probe.httpGet, 'httpGet').port;
  if (typeof port === 'number') return port;
  const declared = asArray(container.ports, 'ports').map((p) => asRecord(p, 'port')).find((p) => p.name === port);
  assert.ok(declared, `probe port ${String(port)} is a declared container port`);
  return Number(declared.containerPort);
}

test('every manifest names its kind, API version and object', () => {
  for (const doc of [...loadtest, ...redis, secret]) {
    assert.equal(typeof doc.apiVersion, 'string');
    assert.equal(typeof doc.kind, 'string');
    assert.equal(typeof asRecord(doc.metadata, 'metadata').name, 'string');
  }
});

test('the sidecar is a native sidecar of a Job, so the Job completes when JMeter exits', () => {
  assert.ok(sidecar, 'a token-sidecar container');
  assert.ok(initContainers.includes(sidecar), 'it is an init container');
  assert.equal(sidecar.restartPolicy, 'Always', 'restartPolicy: Always makes an init container a sidecar');
  assert.equal(podSpec.restartPolicy, 'Never');
  assert.ok(jmeter, 'a JMeter container');
});

test('the sidecar probes hit /healthz and /readyz on the admin port it declares', () => {
  assert.ok(sidecar);
  const adminPort = Number(envValue(sidecar, 'ADMIN_PORT'));
  const declared = asArray(sidecar.ports, 'ports').map((p) => Number(asRecord(p, 'port').containerPort));
  assert.ok(declared.includes(adminPort), `container port ${adminPort} is declared`);
  const expected: Record<string, string> = { livenessProbe: '/healthz', readinessProbe: '/readyz', startupProbe: '/readyz' };
  for (const [kind, path] of Object.entries(expected)) {
    const probe = asRecord(sidecar[kind], kind);
    assert.equal(asRecord(probe.httpGet, 'httpGet').path, path, `${kind} asks ${path}`);
    assert.equal(probePort(sidecar, probe), adminPort, `${kind} asks the admin port`);
  }
});

test('the proxy listens on loopback and the admin port on the pod IP for the kubelet', () => {
  assert.ok(sidecar && jmeter);
  assert.equal(envValue(sidecar, 'HOST'), '127.0.0.1', 'only JMeter, in the same pod, reaches the proxy');
  assert.equal(envValue(sidecar, 'ADMIN_HOST'), '0.0.0.0', 'kubelet probes reach the pod IP');
  assert.ok(!envOf(sidecar).has('INBOUND_API_KEY') && !envOf(sidecar).has('PROTECTED_MODE'), 'loopback needs neither');
  const annotations = asRecord(asRecord(asRecord(job.spec, 'spec').template, 'template').metadata, 'metadata').annotations;
  assert.equal(asRecord(annotations, 'annotations')['prometheus.io/port'], envValue(sidecar, 'ADMIN_PORT'));
});

test('JMeter runs the plan against the pod-local proxy port', () => {
  assert.ok(sidecar && jmeter);
  const args = asArray(jmeter.args, 'args').map((a) => asString(a, 'arg'));
  assert.ok(args.includes('-Jhost=127.0.0.1'));
  assert.ok(args.includes(`-Jport=${envValue(sidecar, 'PORT')}`));
  assert.ok(!args.some((a) => /authorization|bearer/i.test(a)), 'no token handling in JMeter');
  const plan = args[args.indexOf('-t') + 1]!;
  const mounts = asArray(jmeter.volumeMounts, 'volumeMounts').map((m) => asRecord(m, 'mount'));
  const planMount = mounts.find((m) => plan.startsWith(`${String(m.mountPath)}/`));
  assert.ok(planMount, `${plan} is on a mounted volume`);
  const volume = asArray(podSpec.volumes, 'volumes').map((v) => asRecord(v, 'volume')).find((v) => v.name === planMount.name);
  const configMap = asString(asRecord(volume?.configMap, 'configMap volume').name, 'configMap name');
  assert.match(readRepoFile('docker/k8s/README.md'), new RegExp(`kubectl create configmap ${configMap} --from-file=docker/jmeter/${plan.split('/').at(-1)}`),
    'README.md creates that ConfigMap from the repository\'s plan');
});

test('the secret files the sidecar reads are keys of the mounted Secret', () => {
  assert.ok(sidecar);
  const stringData = asRecord(secret.stringData, 'stringData');
  const secretName = asString(asRecord(secret.metadata, 'metadata').name, 'name');
  const mounts = asArray(sidecar.volumeMounts, 'volumeMounts').map((m) => asRecord(m, 'mount'));
  const volumes = asArray(podSpec.volumes, 'volumes').map((v) => asRecord(v, 'volume'));
  for (const setting of ['GENESYSCLOUD_OAUTHCLIENT_SECRET_FILE', 'OAUTH_REFRESH_TOKEN_FILE']) {
    const path = envValue(sidecar, setting);
    const mount = mounts.find((m) => path.startsWith(`${String(m.mountPath)}/`));
    assert.ok(mount, `${setting}=${path} is inside a volume mount`);
    const volume = volumes.find((v) => v.name === mount.name);
    assert.equal(asRecord(volume?.secret, 'secret volume').secretName, secretName, `${setting} comes from Secret ${secretName}`);
    const key = path.slice(String(mount.mountPath).length + 1);
    assert.ok(key in stringData, `${key} is a key of secret.example.yaml`);
  }
  assert.ok(!envOf(sidecar).has('GENESYSCLOUD_OAUTHCLIENT_SECRET') && !envOf(sidecar).has('OAUTH_REFRESH_TOKEN'), 'secrets only as files');
  for (const entry of envOf(sidecar).values()) {
    const ref = (entry.valueFrom as Obj | undefined)?.secretKeyRef as Obj | undefined;
    if (ref) {
      assert.equal(ref.name, secretName);
      assert.ok(String(ref.key) in stringData, `${String(ref.key)} is a key of secret.example.yaml`);
    }
  }
});

test('the sidecar reads only settings named in the contract', () => {
  assert.ok(sidecar);
  for (const name of envOf(sidecar).keys()) assert.ok(CONTRACT_ENV.has(name), `${name} is a contract setting`);
});

test('the sidecar points at the Redis Service and its port', () => {
  assert.ok(sidecar);
  const service = byKind(redis, 'Service');
  const port = asRecord(asArray(asRecord(service.spec, 'spec').ports, 'ports')[0], 'port').port;
  assert.equal(envValue(sidecar, 'REDIS_URL'), `redis://token-sidecar@${String(asRecord(service.metadata, 'metadata').name)}:${String(port)}`);
});

test('the sidecar\'s Redis user has the README\'s ACL rule, and its password file is that Secret\'s key', () => {
  assert.ok(sidecar);
  const auth = asRecord(secretNamed('redis-auth').stringData, 'redis-auth stringData');
  const password = asString(auth.password, 'password');
  const acl = asString(auth['users.acl'], 'users.acl');
  const readmeRule = /^ACL SETUSER token-sidecar (.+)$/m.exec(readRepoFile('README.md'))?.[1];
  assert.ok(readmeRule, 'the README gives the rule');
  assert.ok(acl.split('\n').includes(`user token-sidecar ${readmeRule.replace('>CHANGE-ME', `>${password}`)}`), 'users.acl holds the README\'s rule with the password key\'s value');
  const path = envValue(sidecar, 'REDIS_PASSWORD_FILE');
  const mounts = asArray(sidecar.volumeMounts, 'volumeMounts').map((m) => asRecord(m, 'mount'));
  const mount = mounts.find((m) => path.startsWith(`${String(m.mountPath)}/`));
  assert.ok(mount, `REDIS_PASSWORD_FILE=${path} is inside a volume mount`);
  const volume = asArray(podSpec.volumes, 'volumes').map((v) => asRecord(v, 'volume')).find((v) => v.name === mount.name);
  assert.equal(asRecord(volume?.secret, 'secret volume').secretName, 'redis-auth');
  const item = asArray(asRecord(volume?.secret, 'secret').items, 'items').map((i) => asRecord(i, 'item')).find((i) => i.path === path.slice(String(mount.mountPath).length + 1));
  assert.equal(item?.key, 'password');
});

test('every container sets resource requests and limits', () => {
  const redisPod = asRecord(asRecord(asRecord(byKind(redis, 'Deployment').spec, 'spec').template, 'template').spec, 'spec');
  const redisContainers = asArray(redisPod.containers, 'containers').map((c) => asRecord(c, 'container'));
  for (const container of [...everyContainer, ...redisContainers]) {
    const resources = asRecord(container.resources, `${String(container.name)}.resources`);
    for (const part of ['requests', 'limits']) {
      const values = asRecord(resources[part], `${String(container.name)}.resources.${part}`);
      assert.ok(values.cpu !== undefined && values.memory !== undefined, `${String(container.name)} sets ${part} for cpu and memory`);
    }
  }
});

test('the sidecar runs as a non-root user on a read-only root filesystem', () => {
  assert.ok(sidecar);
  const context = asRecord(sidecar.securityContext, 'securityContext');
  assert.equal(context.runAsNonRoot, true);
  assert.ok(typeof context.runAsUser === 'number' && context.runAsUser > 0, 'a numeric uid the kubelet can check');
  assert.equal(context.readOnlyRootFilesystem, true);
  assert.equal(context.allowPrivilegeEscalation, false);
});

test('the image is used as loaded into the cluster, not pulled for :latest', () => {
  assert.ok(sidecar);
  assert.equal(sidecar.image, 'token-sidecar:latest');
  assert.equal(sidecar.imagePullPolicy, 'IfNotPresent');
});

test('the pod\'s grace before SIGKILL outlasts the sidecar\'s longest stop (default drain plus closing)', () => {
  const longestStopS = Number(SETTINGS.shutdownTimeoutMs.default) / 1000 + 0.5;
  const grace = podSpec.terminationGracePeriodSeconds;
  assert.equal(typeof grace, 'number', 'terminationGracePeriodSeconds is set explicitly');
  assert.ok((grace as number) > longestStopS, `terminationGracePeriodSeconds ${String(grace)} must exceed ${longestStopS} s`);
});
