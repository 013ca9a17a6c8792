/** The text that replaces a secret in the job log. */
export const MASK = '[MASKED]';

/**
 * Token prefixes masked even when the job payload lists none: personal access tokens (GitLab Runner's own
 * default), runner authentication tokens, CI job tokens, deploy tokens and pipeline trigger tokens.
 */
export const DEFAULT_TOKEN_MASK_PREFIXES: readonly string[] = ['glpat-', 'glrt-', 'glcbt-', 'gldt-', 'glptt-'];

/** At most this many token prefixes are honoured (GitLab Runner honours 10; the payload may list more). */
const MAX_TOKEN_PREFIXES = 32;

/** Bytes that may follow a token prefix as part of the token (GitLab Runner's token alphabet). */
const TOKEN_ALPHABET = new Uint8Array(256);
for (const c of 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._=') TOKEN_ALPHABET[c.charCodeAt(0)] = 1;

const MASK_BYTES = Buffer.from(MASK);

interface Needle {
  bytes: Buffer;
  /** A token prefix keeps itself and masks the token that follows; a phrase is masked whole. */
  kind: 'phrase' | 'prefix';
  /** Cached index of the next occurrence at or after the scan position (−1 = none), or −2 = unknown. */
  next: number;
}

/**
 * Masks secrets in a byte stream written in arbitrary chunks. A value split across two writes is still masked:
 * bytes that might be the start of a secret are held back (never more than the longest secret) until the next
 * write or {@link StreamMasker.flush} decides. Phrases are replaced whole by `[MASKED]`; after a token prefix
 * (`glpat-…`) the prefix stays and the token characters that follow become `[MASKED]`.
 */
export class StreamMasker {
  private readonly needles: Needle[];
  private readonly maxLen: number;
  private pending: Buffer = Buffer.alloc(0);
  private inToken = false;

  constructor(phrases: readonly string[], tokenPrefixes: readonly string[] = DEFAULT_TOKEN_MASK_PREFIXES) {
    const seen = new Set<string>();
    this.needles = [];
    for (const p of phrases) {
      if (p === '' || seen.has(`p:${p}`)) continue;
      seen.add(`p:${p}`);
      this.needles.push({ bytes: Buffer.from(p), kind: 'phrase', next: -2 });
    }
    let prefixes = 0;
    for (const raw of tokenPrefixes) {
      const p = raw.trim();
      if (p === '' || seen.has(`t:${p}`) || prefixes >= MAX_TOKEN_PREFIXES) continue;
      seen.add(`t:${p}`);
      prefixes++;
      this.needles.push({ bytes: Buffer.from(p), kind: 'prefix', next: -2 });
    }
    this.maxLen = this.needles.reduce((m, n) => Math.max(m, n.bytes.length), 0);
  }

  /** Masks `chunk` and returns what can be emitted now (possibly empty). */
  write(chunk: Uint8Array): Buffer {
    if (this.needles.length === 0) return Buffer.from(chunk);
    const data = this.pending.length > 0 ? Buffer.concat([this.pending, chunk]) : Buffer.from(chunk);
    return this.process(data, false);
  }

  /** Emits whatever is held back: the stream has ended, so a partial match cannot complete. */
  flush(): Buffer {
    const data = this.pending;
    this.pending = Buffer.alloc(0);
    if (data.length === 0) return data;
    return this.process(data, true);
  }

  private process(data: Buffer, final: boolean): Buffer {
    const out: Buffer[] = [];
    for (const n of this.needles) n.next = -2;
    let i = 0;
    let holdAt = final ? -1 : this.partialStart(data, 0);
    while (i < data.length) {
      if (this.inToken) {
        while (i < data.length && TOKEN_ALPHABET[data[i]!] === 1) i++;
        if (i >= data.length) break;
        this.inToken = false;
      }
      // A match may have consumed the held-back start; look for a later one (none before means none after).
      if (holdAt >= 0 && holdAt < i) holdAt = this.partialStart(data, i);
      const match = this.nextMatch(data, i, final);
      const stop = holdAt >= i && (match === undefined || holdAt <= match.at) ? holdAt : -1;
      if (stop >= 0) {
        out.push(data.subarray(i, stop));
        this.pending = Buffer.from(data.subarray(stop));
        return Buffer.concat(out);
      }
      if (match === undefined) {
        out.push(data.subarray(i));
        i = data.length;
        break;
      }
      out.push(data.subarray(i, match.at));
      const end = match.at + match.needle.bytes.length;
      if (match.needle.kind === 'phrase') {
        out.push(MASK_BYTES);
      } else {
        out.push(match.needle.bytes);
        if (end < data.length && TOKEN_ALPHABET[data[end]!] === 1) {
          out.push(MASK_BYTES);
          this.inToken = true;
        }
      }
      i = end;
    }
    this.pending = Buffer.alloc(0);
    return Buffer.concat(out);
  }

  /** The earliest complete match at or after `from`; the longest one when several start at the same byte. */
  private nextMatch(data: Buffer, from: number, final: boolean): { at: number; needle: Needle } | undefined {
    let best: { at: number; needle: Needle } | undefined;
    for (const n of this.needles) {
      if (n.next === -2 || (n.next >= 0 && n.next < from)) n.next = data.indexOf(n.bytes, from);
      let at = n.next;
      // A prefix at the very end cannot be judged yet (the token may follow in the next write).
      if (at >= 0 && !final && n.kind === 'prefix' && at + n.bytes.length >= data.length) at = -1;
      if (at < 0) continue;
      if (!best || at < best.at || (at === best.at && n.bytes.length > best.needle.bytes.length)) best = { at, needle: n };
    }
    return best;
  }

  /** The first tail position whose remaining bytes are a prefix of some needle (or a whole token prefix). */
  private partialStart(data: Buffer, from: number): number {
    for (let k = Math.max(from, data.length - this.maxLen); k < data.length; k++) {
      const rest = data.length - k;
      for (const n of this.needles) {
        const fits = n.kind === 'prefix' ? rest <= n.bytes.length : rest < n.bytes.length;
        if (fits && n.bytes.compare(data, k, data.length, 0, rest) === 0) return k;
      }
    }
    return -1;
  }
}

/**
 * `text` with every phrase and every token after one of `tokenPrefixes` replaced by `[MASKED]` (a one-shot
 * {@link StreamMasker}): for quoting text that may hold secrets in a log line or an error message.
 */
export function maskText(text: string, phrases: readonly string[], tokenPrefixes: readonly string[] = DEFAULT_TOKEN_MASK_PREFIXES): string {
  const m = new StreamMasker(phrases, tokenPrefixes);
  return Buffer.concat([m.write(Buffer.from(text)), m.flush()]).toString('utf8');
}
