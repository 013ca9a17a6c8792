import { parseGoDuration } from '@fleetrunner/common';
import { invalidArgument } from '@fleetrunner/nesting';

/** A JSON object of configuration with the place it came from (`config file /x.json`, `Init config`). */
export interface ConfigSource {
  where: string;
  values: Record<string, unknown>;
}

/**
 * Reads keys of merged configuration sources (later ones win) with clear errors naming the source and key;
 * unknown keys are refused so a misspelt key does not go unnoticed.
 */
export class ConfigReader {
  private readonly used = new Set<string>();

  constructor(private readonly sources: readonly ConfigSource[]) {}

  private pick(key: string): { value: unknown; where: string } | undefined {
    this.used.add(key);
    for (let i = this.sources.length - 1; i >= 0; i--) {
      const s = this.sources[i]!;
      if (Object.prototype.hasOwnProperty.call(s.values, key) && s.values[key] !== null) return { value: s.values[key], where: s.where };
    }
    return undefined;
  }

  private bad(where: string, key: string, expected: string, value: unknown): Error {
    return invalidArgument(`${where}: ${key}: expected ${expected}, got ${JSON.stringify(value)}`);
  }

  string(key: string, fallback: string): string {
    const p = this.pick(key);
    if (!p) return fallback;
    if (typeof p.value !== 'string' || p.value === '') throw this.bad(p.where, key, 'a non-empty string', p.value);
    return p.value;
  }

  int(key: string, fallback: number, min: number, max: number): number {
    const p = this.pick(key);
    if (!p) return fallback;
    if (typeof p.value !== 'number' || !Number.isInteger(p.value) || p.value < min || p.value > max) {
      throw this.bad(p.where, key, `an integer from ${min} to ${max}`, p.value);
    }
    return p.value;
  }

  bool(key: string, fallback: boolean): boolean {
    const p = this.pick(key);
    if (!p) return fallback;
    if (typeof p.value !== 'boolean') throw this.bad(p.where, key, 'true or false', p.value);
    return p.value;
  }

  /** A Go duration string ("90s", "2m") or a number of seconds; milliseconds out. */
  duration(key: string, fallbackMs: number): number {
    const p = this.pick(key);
    if (!p) return fallbackMs;
    if (typeof p.value === 'number' && p.value > 0) return p.value * 1000;
    if (typeof p.value === 'string') {
      try {
        const ms = parseGoDuration(p.value);
        if (ms > 0) return ms;
      } catch {
        // reported below
      }
    }
    throw this.bad(p.where, key, 'a positive Go duration such as "90s" or "2m"', p.value);
  }

  oneOf<T extends string>(key: string, fallback: T, values: readonly T[]): T {
    const p = this.pick(key);
    if (!p) return fallback;
    if (typeof p.value !== 'string' || !values.includes(p.value as T)) throw this.bad(p.where, key, `one of ${values.map((v) => JSON.stringify(v)).join(', ')}`, p.value);
    return p.value as T;
  }

  /** Refuses keys no reader asked for. */
  finish(): void {
    for (const s of this.sources) {
      for (const key of Object.keys(s.values)) {
        if (!this.used.has(key)) throw invalidArgument(`${s.where}: unknown key ${JSON.stringify(key)} (known: ${[...this.used].sort().join(', ')})`);
      }
    }
  }
}
