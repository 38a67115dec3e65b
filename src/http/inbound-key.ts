import { timingSafeEqual } from 'node:crypto';

export const INBOUND_KEY_HEADER = 'x-sidecar-key';

/** Constant-time check of the x-sidecar-key header against INBOUND_API_KEY. */
export function matchesInboundKey(sent: string | string[] | undefined, expected: Buffer): boolean {
  if (typeof sent !== 'string') return false;
  const given = Buffer.from(sent);
  return given.length === expected.length && timingSafeEqual(given, expected);
}
