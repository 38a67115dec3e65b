/**
 * `token-sidecar mock`: parses the mock's settings, serves the rehearsal upstream until SIGTERM or
 * SIGINT, then closes it and resolves. Bad settings reject with MockUsageError (the CLI exits 2).
 */
import { buildMockUpstream } from './app.js';
import { mockHelp, parseMockArgs } from './options.js';

export async function runMock(argv: string[], env: Record<string, string | undefined>): Promise<void> {
  if (argv.includes('--help') || argv.includes('-h')) {
    process.stdout.write(`${mockHelp()}\n`);
    return;
  }
  const { options, host, port } = parseMockArgs(argv, env);
  const { app } = buildMockUpstream(options);
  const address = await app.listen({ host, port });
  process.stdout.write(`mock upstream listening on ${address} (token endpoint ${address}/oauth/token)\n`);

  await new Promise<void>((resolve, reject) => {
    const stop = () => {
      process.off('SIGTERM', stop);
      process.off('SIGINT', stop);
      app.close().then(resolve, reject);
    };
    process.on('SIGTERM', stop);
    process.on('SIGINT', stop);
  });
}
