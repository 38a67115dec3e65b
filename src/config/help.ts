import { SETTINGS, type Section, type SettingDefinition, type SettingName } from './settings.js';

/**
 * The `--help` text: commands, every `serve` setting (printed from the settings table that
 * loadConfig() reads, so the two cannot drift) and the exit codes.
 */
export function serveHelp(): string {
  return [
    'token-sidecar: a local reverse proxy that adds one shared OAuth bearer token to every request.',
    '',
    'Usage:',
    '  token-sidecar [serve] [settings]   run the proxy (the default command)',
    '  token-sidecar check [settings]     fetch one token per profile and call a cheap endpoint with it (a',
    '                                     preflight for CI); see token-sidecar check --help',
    '  token-sidecar mock [options]       run the Genesys-compatible rehearsal upstream (token endpoint + API)',
    '  token-sidecar demo                 compare 200 clients without and with the sidecar; needs no credentials',
    '  token-sidecar login [options]      log a user in (authorization code + PKCE) for the refresh_token grant;',
    '                                     see token-sidecar login --help',
    '  token-sidecar report --admin URL[,URL…] [--mark FILE | --since FILE] [--json FILE] [--junit FILE]',
    '                       [--fail-on EXPR]…',
    '                                     one run report for a fleet from its admin ports, with CI gates;',
    '                                     see token-sidecar report --help',
    '  token-sidecar top --admin URL[,URL…]',
    '                                     live view of a fleet, redrawn each second (q quits)',
    '  token-sidecar --help | --version',
    '',
    'Each setting is a flag (--flag value or --flag=value) or an environment variable; a flag wins over',
    'env. An empty value counts as not set. A value starting with -- needs the --flag=value form.',
    '',
    ...settingLines(),
    'Exit codes: 0 clean stop (SIGTERM/SIGINT drain), 2 bad usage or configuration (every problem is',
    'listed at once), 1 anything else.',
    '',
  ].join('\n');
}

const INDENT = '      ';
const WIDTH = 100;

/** Each section's settings: `flag  ENV  default`, then the meaning on the lines below. */
function settingLines(): string[] {
  const definitions: readonly SettingDefinition<unknown>[] = (Object.keys(SETTINGS) as SettingName[]).map(
    (name) => SETTINGS[name],
  );
  const flagWidth = Math.max(...definitions.map((d) => d.flag.length));
  const envWidth = Math.max(...definitions.map((d) => d.env.length));
  const sections = [...new Set<Section>(definitions.map((d) => d.section))];
  return sections.flatMap((section) => [
    `${section}:`,
    ...definitions
      .filter((d) => d.section === section)
      .flatMap((d) => [
        `  ${d.flag.padEnd(flagWidth)}  ${d.env.padEnd(envWidth)}  ${defaultOf(d)}`,
        ...wrap(meaningOf(d), WIDTH - INDENT.length).map((line) => INDENT + line),
      ]),
    '',
  ]);
}

function meaningOf(definition: SettingDefinition<unknown>): string {
  const aliases = definition.envAliases ?? [];
  return aliases.length === 0 ? definition.meaning : `${definition.meaning} (env also ${aliases.join(', ')})`;
}

/** A default with a leading or trailing space (`Bearer `) is quoted, or the space would not show. */
function defaultOf(definition: SettingDefinition<unknown>): string {
  const literal = definition.default;
  if (literal !== undefined) return `default: ${literal.trim() === literal ? literal : JSON.stringify(literal)}`;
  return definition.defaultText ?? 'optional';
}

function wrap(text: string, width: number): string[] {
  const lines: string[] = [];
  let line = '';
  for (const word of text.split(' ')) {
    if (line !== '' && line.length + 1 + word.length > width) {
      lines.push(line);
      line = word;
    } else {
      line = line === '' ? word : `${line} ${word}`;
    }
  }
  return [...lines, line];
}
