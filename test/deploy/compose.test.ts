import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { SETTINGS } from '../../src/config/settings.js';
import { mockDefaults } from '../../src/mock/options.js';
import {
  CONTRACT_ENV,
  asArray,
  asRecord,
  asString,
  readRepoFile,
  readYaml,
  repoPath,
} from './contract.js';

const compose = asRecord(readYaml('docker-compose.yml'), 'docker-compose.yml');
const services = asRecord(compose.services, 'services');
const service = (name: string) => asRecord(services[name], `services.${name}`);

/** Environment as a map; `null` is a pass-through (taken from .env or the shell, else unset). */
function environmentOf(name: string): Record<string, string | null> {
  const env = service(name).environment;
  if (env === undefined) return {};
  if (Array.isArray(env)) {
    return Object.fromEntries(env.map((entry) => {
      const [key, ...value] = asString(entry, `${name} environment`).split('=');
      return [key!, value.length === 0 ? null : value.join('=')];
    }));
  }
  return Object.fromEntries(Object.entries(asRecord(env, `${name}.environment`)).map(([k, v]) => [k, v === null ? null : String(v)]));
}

function commandOf(name: string): string[] {
  const command = service(name).command;
  return command === undefined ? [] : asArray(command, `${name}.command`).map((c) => asString(c, `${name}.command`));
}

/** Services running the sidecar's proxy: the token-sidecar image, command `serve`. */
const sidecars = Object.keys(services).filter((name) => service(name).image === 'token-sidecar:latest' && commandOf(name)[0] === 'serve');
const jmeters = Object.keys(services).filter((name) => String(service(name).image).includes('jmeter'));

function intSetting(name: string, setting: 'PORT' | 'ADMIN_PORT'): number {
  const value = environmentOf(name)[setting];
  assert.ok(value, `${name} sets ${setting} explicitly, so the rest of the file can rely on it`);
  return Number(value);
}

/** `host:container` (optionally `ip:host:container`) port strings of a service. */
function publishedPorts(name: string): { ip: string | undefined; host: number; container: number }[] {
  const ports = service(name).ports;
  if (ports === undefined) return [];
  return asArray(ports, `${name}.ports`).map((p) => {
    const parts = asString(p, `${name}.ports`).split(':');
    const container = Number(parts.at(-1));
    const host = Number(parts.at(-2));
    return { ip: parts.length === 3 ? parts[0] : undefined, host, container };
  });
}

function volumesOf(name: string): { source: string; target: string }[] {
  const volumes = service(name).volumes;
  if (volumes === undefined) return [];
  return asArray(volumes, `${name}.volumes`).map((v) => {
    const [source, target] = asString(v, `${name}.volumes`).split(':');
    return { source: source!, target: target! };
  });
}

/** -Jname=value arguments of a JMeter command. */
function jmeterProperties(command: string[]): Record<string, string> {
  return Object.fromEntries(command.filter((a) => a.startsWith('-J')).map((a) => {
    const [key, ...value] = a.slice(2).split('=');
    return [key!, value.join('=')];
  }));
}

/** Lines `NAME=value` or `#NAME=value` of .env.example. */
function envExample(): Map<string, { value: string; commented: boolean }> {
  const entries = new Map<string, { value: string; commented: boolean }>();
  for (const line of readRepoFile('.env.example').split('\n')) {
    const match = /^(#?)([A-Z][A-Z0-9_]*)=(.*)$/.exec(line.trim());
    if (match && !entries.has(match[2]!)) entries.set(match[2]!, { value: match[3]!, commented: match[1] === '#' });
  }
  return entries;
}

/** Names Compose substitutes from .env: `${NAME}`, `${NAME:-x}`, `${NAME:?x}`. */
function interpolatedNames(): Set<string> {
  const raw = readRepoFile('docker-compose.yml').split('\n').filter((l) => !l.trim().startsWith('#')).join('\n');
  return new Set([...raw.matchAll(/\$\{([A-Z_][A-Z0-9_]*)/g)].map((m) => m[1]!));
}

test('the compose file runs two sidecars, Redis, Prometheus and Grafana by default', () => {
  assert.deepEqual(sidecars, ['sidecar-1', 'sidecar-2']);
  for (const name of ['redis', 'prometheus', 'grafana', ...sidecars]) {
    assert.equal(service(name).profiles, undefined, `${name} runs without a profile`);
  }
});

test('the rehearsal profile adds the mock upstream and the jmeter profile one generator per sidecar', () => {
  assert.deepEqual(service('mock').profiles, ['rehearsal']);
  assert.equal(commandOf('mock')[0], 'mock');
  assert.deepEqual(jmeters, ['jmeter-1', 'jmeter-2']);
  for (const name of jmeters) assert.deepEqual(service(name).profiles, ['jmeter']);
  const profiled = Object.keys(services).filter((name) => service(name).profiles !== undefined).sort();
  assert.deepEqual(profiled, ['jmeter-1', 'jmeter-2', 'mock']);
});

test('every file and directory the compose file mounts or builds from exists', () => {
  for (const name of Object.keys(services)) {
    const build = service(name).build;
    if (build !== undefined) {
      const context = typeof build === 'string' ? build : asString(asRecord(build, 'build').context, 'build.context');
      assert.ok(existsSync(join(repoPath(context), 'Dockerfile')), `${name} builds ${context}/Dockerfile`);
    }
    for (const { source } of volumesOf(name)) {
      assert.ok(source.startsWith('./'), `${name} mounts ${source} from the repository, not a named volume`);
      assert.ok(existsSync(repoPath(source)), `${name} mounts ${source}, which exists`);
    }
  }
});

test('the sidecars read only settings named in the contract', () => {
  for (const name of sidecars) {
    for (const key of Object.keys(environmentOf(name))) assert.ok(CONTRACT_ENV.has(key), `${name}: ${key} is a contract setting`);
  }
});

test('no secret value is written into the compose file', () => {
  const secretish = /SECRET|PASSWORD|TOKEN|KEY/;
  for (const name of Object.keys(services)) {
    for (const [key, value] of Object.entries(environmentOf(name))) {
      if (!secretish.test(key) || key.endsWith('_FILE')) continue;
      assert.ok(value === null || /^\$\{[A-Z0-9_]+(:?[-?][^}]*)?\}$/.test(value), `${name}: ${key} comes from .env, not the file (${value})`);
      if (value !== null) assert.doesNotMatch(value, /:-/, `${name}: ${key} has no default value`);
    }
  }
  for (const [secret, definition] of Object.entries(asRecord(compose.secrets, 'secrets'))) {
    const source = asRecord(definition, `secrets.${secret}`);
    assert.ok(typeof source.environment === 'string' || typeof source.file === 'string', `secret ${secret} comes from .env or a file`);
  }
});

test('the client secret reaches each sidecar as a mounted secret file', () => {
  const secrets = asRecord(compose.secrets, 'secrets');
  for (const name of sidecars) {
    const path = environmentOf(name).GENESYSCLOUD_OAUTHCLIENT_SECRET_FILE;
    const secretName = /^\/run\/secrets\/([\w.-]+)$/.exec(path ?? '')?.[1];
    assert.ok(secretName, `${name}: GENESYSCLOUD_OAUTHCLIENT_SECRET_FILE is /run/secrets/<name>`);
    assert.ok(asArray(service(name).secrets, `${name}.secrets`).includes(secretName), `${name} mounts secret ${secretName}`);
    assert.equal(asRecord(secrets[secretName], secretName).environment, 'GENESYSCLOUD_OAUTHCLIENT_SECRET');
    assert.equal(environmentOf(name).GENESYSCLOUD_OAUTHCLIENT_SECRET, undefined, `${name} does not also get the secret as a variable`);
  }
});

test('the sidecars bind every interface in the network and so require the inbound key', () => {
  for (const name of sidecars) {
    const env = environmentOf(name);
    assert.equal(env.HOST, '0.0.0.0');
    assert.equal(env.PROTECTED_MODE, undefined, `${name} keeps protected mode on`);
    assert.match(env.INBOUND_API_KEY ?? '', /^\$\{INBOUND_API_KEY:\?/, `${name}: compose refuses to start without a key`);
  }
});

test('every published port is bound to loopback and maps to the port the service listens on', () => {
  for (const name of Object.keys(services)) {
    for (const port of publishedPorts(name)) assert.equal(port.ip, '127.0.0.1', `${name} publishes ${port.host} on loopback only`);
  }
  for (const name of sidecars) {
    const containerPorts = publishedPorts(name).map((p) => p.container).sort();
    assert.deepEqual(containerPorts, [intSetting(name, 'PORT'), intSetting(name, 'ADMIN_PORT')].sort());
  }
  const hostPorts = Object.keys(services).flatMap((name) => publishedPorts(name).map((p) => p.host));
  assert.equal(new Set(hostPorts).size, hostPorts.length, 'no two services publish the same host port');
});

test('each sidecar is healthy only when /readyz on its admin port answers', () => {
  for (const name of sidecars) {
    const check = asArray(asRecord(service(name).healthcheck, `${name}.healthcheck`).test, 'test').join(' ');
    assert.match(check, new RegExp(`127\\.0\\.0\\.1:${intSetting(name, 'ADMIN_PORT')}/readyz`));
    assert.doesNotMatch(check, /\b(curl|wget)\b/, 'the slim image has neither');
  }
});

test('Prometheus scrapes exactly the sidecars\' admin ports, with the config compose mounts', () => {
  const prometheus = asRecord(readYaml('docker/prometheus/prometheus.yml'), 'prometheus.yml');
  const jobs = asArray(prometheus.scrape_configs, 'scrape_configs').map((j) => asRecord(j, 'scrape config'));
  const job = jobs.find((j) => j.job_name === 'token-sidecar');
  assert.ok(job, 'a token-sidecar scrape job');
  const targets = asArray(job.static_configs, 'static_configs').flatMap((c) => asArray(asRecord(c, 'static config').targets, 'targets'));
  assert.deepEqual(targets.sort(), sidecars.map((name) => `${name}:${intSetting(name, 'ADMIN_PORT')}`).sort());

  const mount = volumesOf('prometheus').find((v) => v.source === './docker/prometheus');
  assert.ok(mount, 'docker/prometheus is mounted');
  const configFlag = commandOf('prometheus').find((a) => a.startsWith('--config.file='));
  assert.equal(configFlag, `--config.file=${mount.target}/prometheus.yml`);
});

test('Grafana gets the provisioning and dashboards directories at the paths its provisioning names', () => {
  const provisioning = volumesOf('grafana').find((v) => v.source === './docker/grafana/provisioning');
  assert.equal(provisioning?.target, '/etc/grafana/provisioning');
  const dashboards = volumesOf('grafana').find((v) => v.source === './docker/grafana/dashboards');
  const providers = asArray(asRecord(readYaml('docker/grafana/provisioning/dashboards/dashboards.yml'), 'dashboards.yml').providers, 'providers');
  const path = asString(asRecord(asRecord(providers[0], 'provider').options, 'options').path, 'provider path');
  assert.equal(dashboards?.target, path);
  const home = environmentOf('grafana').GF_DASHBOARDS_DEFAULT_HOME_DASHBOARD_PATH;
  assert.ok(home?.startsWith(`${path}/`) && existsSync(repoPath(`docker/grafana/dashboards/${home.slice(path.length + 1)}`)));
});

test('each JMeter generator runs the plan against its own sidecar\'s proxy port once it is ready', () => {
  const targeted = new Set<string>();
  for (const name of jmeters) {
    const command = commandOf(name);
    const props = jmeterProperties(command);
    const sidecar = props.host!;
    assert.ok(sidecars.includes(sidecar), `${name} -Jhost=${sidecar} is a sidecar service`);
    targeted.add(sidecar);
    assert.equal(Number(props.port), intSetting(sidecar, 'PORT'));
    assert.equal(props.sidecarKey, '${INBOUND_API_KEY}', `${name} sends the sidecars' inbound key`);
    const dependsOn = asRecord(asRecord(service(name).depends_on, `${name}.depends_on`)[sidecar], 'depends_on');
    assert.equal(dependsOn.condition, 'service_healthy');

    const plan = command[command.indexOf('-t') + 1]!;
    const mount = volumesOf(name).find((v) => v.target === plan);
    assert.equal(mount?.source, './docker/jmeter/users-me.jmx', `${name} runs the repository's plan`);
    const results = volumesOf(name).find((v) => props.results?.startsWith(`${v.target}/`));
    assert.equal(results?.source, './docker/jmeter/results', `${name} writes its results to the mounted results directory`);
    assert.ok(statSync(repoPath('docker/jmeter/results')).isDirectory());
  }
  assert.deepEqual([...targeted].sort(), sidecars, 'every sidecar gets load');
});

test('every service waited on with service_healthy has a healthcheck', () => {
  for (const name of Object.keys(services)) {
    const dependsOn = service(name).depends_on;
    if (dependsOn === undefined) continue;
    for (const [dependency, spec] of Object.entries(asRecord(dependsOn, `${name}.depends_on`))) {
      assert.ok(services[dependency] !== undefined, `${name} depends on ${dependency}, which is defined`);
      if (asRecord(spec, 'depends_on entry').condition === 'service_healthy') {
        assert.ok(service(dependency).healthcheck !== undefined, `${dependency} has a healthcheck (${name} waits for it)`);
      }
    }
  }
  const mockDependency = asRecord(asRecord(service('sidecar-1').depends_on, 'depends_on').mock, 'mock');
  assert.equal(mockDependency.required, false, 'the sidecars also start without the rehearsal profile');
});

test('every variable compose reads from .env is documented in .env.example, and nothing else is', () => {
  const documented = envExample();
  const passThrough = new Set(Object.keys(services).flatMap((name) => Object.entries(environmentOf(name)).filter(([, v]) => v === null).map(([k]) => k)));
  const secretSources = Object.values(asRecord(compose.secrets, 'secrets')).map((s) => asRecord(s, 'secret').environment).filter((e) => typeof e === 'string');
  const consumed = new Set<string>([...interpolatedNames(), ...passThrough, ...secretSources, 'COMPOSE_PROFILES']);
  for (const name of interpolatedNames()) assert.ok(documented.has(name), `${name} is in .env.example`);
  for (const name of secretSources) assert.ok(documented.has(name), `${name} is in .env.example`);
  for (const name of documented.keys()) assert.ok(consumed.has(name), `.env.example's ${name} is used by docker-compose.yml`);
  for (const name of passThrough) assert.ok(documented.has(name), `${name} is in .env.example`);
});

test('.env.example works as is for the rehearsal: the mock\'s address and demo client', () => {
  const env = envExample();
  const value = (name: string) => {
    const entry = env.get(name);
    assert.ok(entry && !entry.commented, `${name} is set in .env.example`);
    return entry.value;
  };
  const mockCommand = commandOf('mock');
  const mockPort = mockCommand[mockCommand.indexOf('--port') + 1];
  assert.equal(mockCommand[mockCommand.indexOf('--host') + 1], '0.0.0.0', 'the mock is reachable from the sidecars');
  assert.equal(value('UPSTREAM_URL'), `http://mock:${mockPort}`);
  assert.equal(value('TOKEN_URL'), `http://mock:${mockPort}/oauth/token`);
  assert.ok(!mockCommand.includes('--client-id') && !mockCommand.includes('--client-secret'), 'the mock keeps its demo client');
  assert.equal(value('GENESYSCLOUD_OAUTHCLIENT_ID'), mockDefaults.clientId);
  assert.equal(value('GENESYSCLOUD_OAUTHCLIENT_SECRET'), mockDefaults.clientSecret);
  assert.equal(value('OAUTH_GRANT'), 'refresh_token', '/api/v2/users/me needs a user context');
  assert.equal(value('OAUTH_REFRESH_TOKEN'), mockDefaults.refreshTokenSeed);
  assert.equal(value('COMPOSE_PROFILES'), 'rehearsal');
  assert.equal(value('INBOUND_API_KEY'), '', 'each user generates their own key');
});

/** Docker's grace between SIGTERM and SIGKILL when nothing sets one (`docker stop`). */
const DOCKER_DEFAULT_GRACE_S = 10;
/** The sidecar's longest stop: the default drain, then up to half a second to close (serve.ts). */
const LONGEST_STOP_S = Number(SETTINGS.shutdownTimeoutMs.default) / 1000 + 0.5;

test('the default drain ends well inside docker stop\'s default grace, and compose gives the sidecars more', () => {
  assert.ok(LONGEST_STOP_S <= DOCKER_DEFAULT_GRACE_S - 1, `a default stop of ${LONGEST_STOP_S} s against docker's ${DOCKER_DEFAULT_GRACE_S} s`);
  for (const name of ['sidecar-1', 'sidecar-2']) {
    const grace = asString(service(name).stop_grace_period, `${name}.stop_grace_period`);
    const seconds = Number(/^(\d+)s$/.exec(grace)?.[1]);
    assert.ok(seconds > LONGEST_STOP_S, `${name}: stop_grace_period ${grace} must exceed the ${LONGEST_STOP_S} s stop`);
  }
});
