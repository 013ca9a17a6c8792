import type { IncomingMessage, ServerResponse } from 'node:http';

/** Sends a JSON body (Grape's API responses are JSON). */
export function sendJson(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(text), ...headers });
  res.end(text);
}

/** Sends a status with no body (204). */
export function sendEmpty(res: ServerResponse, status: number, headers: Record<string, string> = {}): void {
  res.writeHead(status, headers);
  res.end();
}

/** GitLab's error body: `{"message":"403 Forbidden"}`. */
export function sendError(res: ServerResponse, status: number, message: string, headers: Record<string, string> = {}): void {
  sendJson(res, status, { message }, headers);
}

/**
 * Reads the whole request body; past `limit` bytes it keeps reading (so the client is not cut off mid-upload)
 * but stops storing and reports `tooLarge`.
 */
export async function readBody(req: IncomingMessage, limit = 64 * 1024 * 1024): Promise<{ body: Buffer; tooLarge: boolean; size: number }> {
  const chunks: Buffer[] = [];
  let size = 0;
  let tooLarge = false;
  for await (const chunk of req) {
    const b = chunk as Buffer;
    size += b.length;
    if (size > limit) tooLarge = true;
    if (!tooLarge) chunks.push(b);
  }
  return { body: tooLarge ? Buffer.alloc(0) : Buffer.concat(chunks), tooLarge, size };
}

/** Parses a JSON request body; undefined when it is not valid JSON. */
export function parseJson(body: Buffer): unknown {
  try {
    return JSON.parse(body.toString('utf8'));
  } catch {
    return undefined;
  }
}

/** A string property of a parsed JSON object, or ''. */
export function field(v: unknown, key: string): string {
  if (typeof v !== 'object' || v === null) return '';
  const x = (v as Record<string, unknown>)[key];
  return typeof x === 'string' ? x : '';
}

/** A header's single value. */
export function header(req: IncomingMessage, name: string): string {
  const v = req.headers[name.toLowerCase()];
  return Array.isArray(v) ? (v[0] ?? '') : (v ?? '');
}
