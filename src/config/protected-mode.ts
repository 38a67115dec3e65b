import { BlockList, isIP } from 'node:net';
import type { Io } from './io.js';
import { SETTINGS, settingLabel as label } from './settings.js';

const LOOPBACK = new BlockList();
LOOPBACK.addSubnet('127.0.0.0', 8, 'ipv4');
LOOPBACK.addAddress('::1', 'ipv6');

function isLoopback(host: string): boolean {
  if (host.toLowerCase() === 'localhost') return true;
  const family = isIP(host);
  return family !== 0 && LOOPBACK.check(host, family === 4 ? 'ipv4' : 'ipv6');
}

/**
 * Protected mode, like Redis's: a listener other hosts can reach must be guarded by INBOUND_API_KEY,
 * or the operator says PROTECTED_MODE=off. The admin listener exposes no secret, but its
 * POST /token/refresh lets whoever reaches it make the sidecar call the token endpoint, so an explicit
 * non-loopback ADMIN_HOST needs the key as well (the key then also guards admin POSTs). An unset
 * ADMIN_HOST follows HOST, whose own problem already covers it.
 */
export function checkLoopback(name: 'host' | 'adminHost', host: string, io: Io): void {
  if (isLoopback(host)) return;
  io.report(`${label(name)}: ${JSON.stringify(host)} is not a loopback address, so ${label('inboundKey')} ` +
    `is required (or ${SETTINGS.protectedMode.env}=off)`);
}
