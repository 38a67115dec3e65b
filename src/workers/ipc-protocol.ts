import type { StoreEvent } from '../store/store.js';

/**
 * Messages between the primary process and its workers (node:cluster IPC, JSON-serialised).
 * Tokens cross this channel (it is a private pipe between processes of one sidecar), never a log.
 */
export type StoreOp = 'get' | 'nextGeneration' | 'putIfNewer' | 'invalidate' | 'getRefreshToken' | 'putRefreshToken' | 'lockAcquire' | 'lockRelease';

export interface StoreRequest {
  readonly t: 'store';
  readonly id: number;
  readonly op: StoreOp;
  readonly args: unknown[];
}

export interface StoreReply {
  readonly t: 'store-reply';
  readonly id: number;
  readonly ok: boolean;
  readonly value?: unknown;
  readonly error?: string;
}

export interface StoreEventMessage {
  readonly t: 'store-event';
  readonly event: StoreEvent;
}

/** The primary forwards an admin-port request to a worker's own admin app. */
export interface AdminRequest {
  readonly t: 'admin';
  readonly id: number;
  readonly method: string;
  readonly url: string;
  readonly headers: Record<string, unknown>;
}

/** The worker's answer: status and parsed JSON body. */
export interface AdminReply {
  readonly t: 'admin-reply';
  readonly id: number;
  readonly value: { status: number; body: unknown };
}

export function isMessage<T extends { t: string }>(message: unknown, t: T['t']): message is T {
  return typeof message === 'object' && message !== null && (message as { t?: unknown }).t === t;
}
