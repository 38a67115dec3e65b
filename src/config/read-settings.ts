import { readSecretFile } from './files.js';
import { REPORTED, type Credential, type Io } from './io.js';
import type { CredentialFiles } from './rotating-secrets.js';
import {
  SETTINGS,
  settingLabel as label,
  shownValue,
  type DefaultedSetting,
  type SettingDefinition,
  type SettingName,
  type SettingValue,
} from './settings.js';

/**
 * Reading the settings from where a user gives them: the flags (argv after the subcommand) and the
 * environment under each setting's name or an alias, a flag winning over env, each value parsed by
 * its row of the settings table. Every problem is reported, none thrown.
 */

const SETTING_BY_FLAG: ReadonlyMap<string, SettingName> = new Map(
  (Object.keys(SETTINGS) as SettingName[]).map((name) => [SETTINGS[name].flag, name]),
);

/** `--flag value` or `--flag=value`; the last occurrence of a flag wins. A value may not start with `--`. */
export function parseArgv(argv: readonly string[], io: Io): Map<SettingName, string> {
  const given = new Map<SettingName, string>();
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i] ?? '';
    if (!arg.startsWith('-')) {
      // Not echoed: a stray word may be half of a secret that the shell split.
      io.report(`argument ${i + 1}: unexpected (settings are --flag value or --flag=value)`);
      continue;
    }
    const equals = arg.indexOf('=');
    const flag = equals === -1 ? arg : arg.slice(0, equals);
    const next = argv[i + 1];
    const value = equals !== -1 ? arg.slice(equals + 1) : next !== undefined && !next.startsWith('--') ? next : undefined;
    if (equals === -1 && value !== undefined) i++;
    const name = SETTING_BY_FLAG.get(flag);
    if (name === undefined) io.report(`${flag}: unknown flag (see --help)`);
    else if (value === undefined) io.report(`${label(name)}: needs a value (--flag value or --flag=value)`);
    else if (isVerbatim(name)) given.set(name, value);
    else if (value.trim() === '') given.delete(name);
    else given.set(name, value.trim());
  }
  return given;
}

type Origin = 'flag' | 'env';

function isVerbatim(name: SettingName): boolean {
  return (SETTINGS[name] as SettingDefinition<unknown>).verbatim === true;
}

/** Reads settings through their definitions, recording each problem. */
export class SettingReader {
  private readonly filesRead = new Map<'clientSecret' | 'refreshToken', { path: string; where: string }>();
  private readonly values = new Map<SettingName, unknown>();
  private readonly fromEnv = new Map<SettingName, string>();

  constructor(
    private readonly flags: ReadonlyMap<SettingName, string>,
    env: Record<string, string | undefined>,
    private readonly io: Io,
  ) {
    for (const name of Object.keys(SETTINGS) as SettingName[]) {
      const text = readEnv(name, env, io);
      if (text !== undefined) this.fromEnv.set(name, text);
    }
    // Every setting is checked here, once, in table order, whether or not anything reads it later.
    for (const name of Object.keys(SETTINGS) as SettingName[]) this.values.set(name, this.parse(name));
  }

  isSet(name: SettingName): boolean {
    return this.raw(name) !== undefined;
  }

  value<N extends DefaultedSetting>(name: N): SettingValue<N>;
  value<N extends SettingName>(name: N): SettingValue<N> | undefined;
  value(name: SettingName): unknown {
    return this.values.get(name);
  }

  /**
   * A secret given directly or as a file (`*_FILE`). Both at the same level (both flags or both env) is
   * a problem; otherwise the usual precedence applies, so a flag of either kind beats env of either.
   */
  secret(direct: 'clientSecret' | 'refreshToken', fromFile: 'clientSecretFile' | 'refreshTokenFile'): Credential {
    const value = this.raw(direct);
    const file = this.raw(fromFile);
    if (value && file && value.origin === file.origin) {
      this.io.report(`${label(direct)} and ${label(fromFile)}: give one, not both`);
      return REPORTED;
    }
    if (file && (!value || file.origin === 'flag')) {
      this.filesRead.set(direct, { path: file.text, where: label(fromFile) });
      return readSecretFile(file.text, label(fromFile), this.io);
    }
    return value?.text;
  }

  /** The secret files read by `secret`, for the profile to follow when they change (rotating-secrets.ts). */
  credentialFiles(): CredentialFiles {
    return Object.fromEntries(this.filesRead);
  }

  /**
   * A rejected value is reported and the default used in its place, so the checks that depend on it
   * still run without reporting knock-on problems.
   */
  private parse(name: SettingName): unknown {
    const definition: SettingDefinition<unknown> = SETTINGS[name];
    const raw = this.raw(name);
    if (raw !== undefined) {
      const parsed = definition.parse(raw.text);
      if (parsed.ok) return parsed.value;
      this.io.report(`${label(name)}: ${parsed.rule}, got ${shownValue(raw.text, definition.secret)}`);
    }
    if (definition.default === undefined) return undefined;
    const fallback = definition.parse(definition.default);
    if (!fallback.ok) throw new Error(`the default of ${definition.env} breaks its own rule`);
    return fallback.value;
  }

  private raw(name: SettingName): { text: string; origin: Origin } | undefined {
    const flag = this.flags.get(name);
    if (flag !== undefined) return { text: flag, origin: 'flag' };
    const fromEnv = this.fromEnv.get(name);
    return fromEnv !== undefined ? { text: fromEnv, origin: 'env' } : undefined;
  }
}

/**
 * A setting's env text under its name or an alias (OAUTH_CLIENT_ID for GENESYSCLOUD_OAUTHCLIENT_ID).
 * Two names with different values is a problem: which one was meant cannot be guessed. A verbatim
 * setting is taken untrimmed, and set-but-empty is a value.
 */
function readEnv(name: SettingName, env: Record<string, string | undefined>, io: Io): string | undefined {
  const definition: SettingDefinition<unknown> = SETTINGS[name];
  const given = [definition.env, ...(definition.envAliases ?? [])].flatMap((envName) => {
    const raw = env[envName];
    if (raw === undefined) return [];
    const text = definition.verbatim ? raw : raw.trim();
    return definition.verbatim || text !== '' ? [{ envName, text }] : [];
  });
  if (new Set(given.map((g) => g.text)).size > 1) {
    io.report(`${given.map((g) => g.envName).join(' and ')}: name the same setting (${definition.flag}) with different values; give one`);
  }
  return given[0]?.text;
}
