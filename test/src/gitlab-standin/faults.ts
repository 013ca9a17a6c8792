import type { IncomingMessage, ServerResponse } from 'node:http';
import { sendEmpty, sendJson } from './http-util.js';
import type { Store } from './store.js';
import type { FaultSpec, RequestRecord } from './types.js';

/**
 * Answers a request with the fault meant for it instead of the real route, after reading the whole request
 * body (the request did arrive; what goes wrong is the answer):
 * - `respond` (default): the canned status, headers and body;
 * - `drop`: the connection is destroyed without a byte of answer (the client sees a reset / socket hang up);
 * - `hang`: nothing is ever sent; the request stays open until the client gives up or the stand-in closes.
 * Dropped and held requests are recorded in `requests` with status 0 once their connection is gone; every fault
 * applied bumps the store's change counter so tests can wait on it.
 */
export async function applyFault(store: Store, fault: FaultSpec, req: IncomingMessage, res: ServerResponse, record: (r: RequestRecord) => void): Promise<void> {
  for await (const _ of req) void _;
  const action = fault.action ?? 'respond';
  if (action !== 'respond') {
    const entry: RequestRecord = { method: req.method ?? 'GET', path: new URL(req.url ?? '/', 'http://standin').pathname, status: 0, headers: { ...req.headers }, fault: action };
    res.once('close', () => {
      record(entry);
      store.emit('change');
    });
    store.faultsApplied++;
    store.emit('change');
    if (action === 'drop') res.destroy();
    return;
  }
  store.faultsApplied++;
  store.emit('change');
  const status = fault.status ?? 500;
  if (fault.body === undefined) return sendEmpty(res, status, fault.headers);
  if (typeof fault.body === 'string') {
    res.writeHead(status, { 'Content-Type': 'text/plain', ...fault.headers });
    res.end(fault.body);
    return;
  }
  sendJson(res, status, fault.body, fault.headers);
}

/** Removes the queued faults matching `path` (all of them without one); returns how many were removed. */
export function clearFaults(store: Store, path?: string | RegExp): number {
  let removed = 0;
  for (let i = store.faults.length - 1; i >= 0; i--) {
    const f = store.faults[i]!;
    if (path === undefined || String(f.path) === String(path)) {
      store.faults.splice(i, 1);
      removed++;
    }
  }
  store.emit('change');
  return removed;
}
