/**
 * Which local port each load request was written from: the analysis compares it with the
 * connections the service had accepted when it closed its listener (server-close's remotePorts).
 * A connection the kernel completed but the service never accepted sits in the accept queue, and
 * closing the listener resets it: that request was turned away, not cut mid-request.
 *
 * undici does not expose a request's socket; its diagnostics channels do. `undici:request:create`
 * is published while `pool.request()` runs (synchronously, when a client takes the request at
 * once), so the request object is tied to the callback set around that call;
 * `undici:client:sendHeaders` then names the socket its headers went out on. A request that the
 * pool queued is created later and simply gets no port. Other users of undici in this process
 * (an extension host's fetch) publish on the same channels and are ignored.
 */
import * as dc from 'diagnostics_channel';

type PortCallback = (port: number) => void;

let subscribed = false;
let pending: PortCallback | undefined;
const callbacks = new WeakMap<object, PortCallback>();

function subscribe(): void {
  if (subscribed) return;
  subscribed = true;
  dc.channel('undici:request:create').subscribe((m) => {
    const request = (m as { request?: object }).request;
    if (pending && request) callbacks.set(request, pending);
  });
  dc.channel('undici:client:sendHeaders').subscribe((m) => {
    const { request, socket } = m as { request?: object; socket?: { localPort?: number } };
    const cb = request && callbacks.get(request);
    if (!cb) return;
    callbacks.delete(request);
    if (typeof socket?.localPort === 'number') cb(socket.localPort);
  });
}

/** Runs `start` (which must call pool.request), and tells `onPort` the request's local port once its headers are sent. */
export function withLocalPort<T>(onPort: PortCallback, start: () => T): T {
  subscribe();
  pending = onPort;
  try {
    return start();
  } finally {
    pending = undefined;
  }
}
