/**
 * Parses a boolean the way Go's `strconv.ParseBool` does (`1 t T TRUE true True` / `0 f F FALSE false False`);
 * undefined when `raw` is none of those. Feature-flag and `CI_DEBUG_TRACE` variables are read with it.
 */
export function parseGoBool(raw: string): boolean | undefined {
  if (TRUE.has(raw)) return true;
  if (FALSE.has(raw)) return false;
  return undefined;
}

const TRUE = new Set(['1', 't', 'T', 'TRUE', 'true', 'True']);
const FALSE = new Set(['0', 'f', 'F', 'FALSE', 'false', 'False']);
