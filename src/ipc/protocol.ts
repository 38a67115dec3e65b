/**
 * Messages between the primary process and its workers (node:cluster IPC, JSON-serialised).
 * Tokens cross this channel (it is a private pipe between processes of one sidecar), never a log.
 * A leaf: the store and lock on either end give the payloads their types.
 */

/** A worker's call to the store or lock held by the primary: `op` names the method, `args` its arguments. */
export interface BackendRequest {
  readonly t: 'backend';
  readonly id: number;
  readonly op: string;
  readonly args: unknown[];
}

export interface BackendReply {
  readonly t: 'backend-reply';
  readonly id: number;
  readonly ok: boolean;
  readonly value?: unknown;
  readonly error?: string;
}

/** A store event, broadcast by the primary to every worker. */
export interface BackendEventMessage {
  readonly t: 'backend-event';
  readonly event: unknown;
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
