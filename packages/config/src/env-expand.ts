import { expandGo } from '@fleetrunner/common';

/** Variables for `$VAR` expansion; `process.env` fits. */
export type Env = Readonly<Record<string, string | undefined>>;

/** The result of expanding `$VAR` / `${VAR}` references. */
export interface Expansion {
  value: string;
  /** Names that were referenced but not set (they expanded to ''). */
  missing: string[];
  /** True when the text held a malformed reference such as `${` without `}` (Go drops those characters). */
  malformed: boolean;
}

/**
 * Expands `$VAR` and `${VAR}` the way Go's `os.ExpandEnv` does (GitLab Runner applies it to `url` and `token`),
 * through the one `os.Expand` in @fleetrunner/common, noting the names that were not set and malformed references
 * for the config's warnings.
 */
export function expandEnv(text: string, env: Env): Expansion {
  const missing: string[] = [];
  let malformed = false;
  const value = expandGo(
    text,
    (name) => {
      const v = env[name];
      if (v === undefined) missing.push(name);
      return v ?? '';
    },
    () => {
      malformed = true;
    },
  );
  return { value, missing, malformed };
}
