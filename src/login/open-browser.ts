import { spawn } from 'node:child_process';

/**
 * Asks the desktop to open `url` in the default browser: `open` on macOS, `start` on Windows,
 * `xdg-open` elsewhere. Best effort: no desktop, no such program or a failure are all fine, since
 * the URL is printed for a person to open by hand anyway.
 */
export function openBrowser(url: string, platform: NodeJS.Platform = process.platform): void {
  const [command, args] =
    platform === 'darwin' ? ['open', [url]]
    : platform === 'win32' ? ['cmd', ['/c', 'start', '""', url.replaceAll('&', '^&')]]
    : ['xdg-open', [url]];
  try {
    const child = spawn(command, args, { detached: true, stdio: 'ignore' });
    child.on('error', () => {});
    child.unref();
  } catch {
    // Nothing to do: the printed URL is the fallback.
  }
}
