import { ApiError } from './errors.js';

/**
 * The parameters of an AWS query-protocol request (`Action=…&Version=…&…`, form-encoded in the POST body or in the
 * URL), with the list conventions of both dialects: Auto Scaling's `Names.member.1`, EC2's `InstanceId.1` and
 * `Filter.1.Value.1`.
 */
export class QueryParams {
  private readonly values = new Map<string, string>();

  constructor(text: string) {
    for (const [k, v] of new URLSearchParams(text)) this.values.set(k, v);
  }

  get(name: string): string | undefined {
    return this.values.get(name);
  }

  /** A required parameter; missing → `MissingParameter` as AWS reports it. */
  required(name: string): string {
    const v = this.values.get(name);
    if (v === undefined || v === '') throw new ApiError('MissingParameter', `The request must contain the parameter ${name}`);
    return v;
  }

  /** An integer parameter, or undefined when absent; anything else is a `ValidationError`. */
  int(name: string): number | undefined {
    const v = this.values.get(name);
    if (v === undefined) return undefined;
    if (!/^-?\d+$/.test(v)) throw new ApiError('ValidationError', `Value '${v}' at '${name}' failed to satisfy constraint: Member must be an integer`);
    return Number(v);
  }

  /** A boolean parameter (`true`/`false`), or undefined when absent. */
  bool(name: string): boolean | undefined {
    const v = this.values.get(name);
    if (v === undefined) return undefined;
    if (v !== 'true' && v !== 'false') throw new ApiError('ValidationError', `Value '${v}' at '${name}' failed to satisfy constraint: Member must be a boolean`);
    return v === 'true';
  }

  /** `prefix.1`, `prefix.2`… in index order (EC2 style); with `member`, `prefix.member.1`… (Auto Scaling style). */
  list(prefix: string, member = false): string[] {
    const head = member ? `${prefix}.member.` : `${prefix}.`;
    const found: [number, string][] = [];
    for (const [k, v] of this.values) {
      if (!k.startsWith(head)) continue;
      const rest = k.slice(head.length);
      if (/^\d+$/.test(rest)) found.push([Number(rest), v]);
    }
    return found.sort((a, b) => a[0] - b[0]).map(([, v]) => v);
  }

  /** EC2 filters: `Filter.N.Name` with `Filter.N.Value.M`. */
  filters(): { name: string; values: string[] }[] {
    const out: { name: string; values: string[] }[] = [];
    for (let i = 1; ; i++) {
      const name = this.values.get(`Filter.${i}.Name`);
      if (name === undefined) break;
      out.push({ name, values: this.list(`Filter.${i}.Value`) });
    }
    return out;
  }
}
