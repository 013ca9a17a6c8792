// GitLab's human durations (`timeout: 3h 30m`, `expire_in: 2 hrs 20 min`, `3 weeks and 2 days`, `42`),
// parsed like GitLab's ChronicDuration: a bare number is seconds, `h:m:s` is accepted, a month is 30 days
// and a year 365.25 days.

const UNIT_SECONDS: ReadonlyArray<[RegExp, number]> = [
  [/^(s|secs?|seconds?)$/, 1],
  [/^(m|mins?|minutes?)$/, 60],
  [/^(h|hrs?|hours?)$/, 3600],
  [/^(d|days?)$/, 86400],
  [/^(w|wks?|weeks?)$/, 7 * 86400],
  [/^(mo|mos|months?)$/, 30 * 86400],
  [/^(y|yrs?|years?)$/, 31557600],
];

const WORDS: Record<string, number> = {
  a: 1, an: 1, one: 1, two: 2, three: 3, four: 4, five: 5, six: 6, seven: 7, eight: 8, nine: 9, ten: 10,
  eleven: 11, twelve: 12, fifteen: 15, twenty: 20, thirty: 30, forty: 40, fifty: 50, sixty: 60, ninety: 90,
};

function unitSeconds(unit: string): number | undefined {
  return UNIT_SECONDS.find(([re]) => re.test(unit))?.[1];
}

/** Parses a GitLab duration into whole seconds; undefined when the text is not a duration. */
export function parseDuration(input: string | number): number | undefined {
  if (typeof input === 'number') return Number.isFinite(input) && input >= 0 ? Math.round(input) : undefined;
  let s = input.trim().toLowerCase();
  if (s === '') return undefined;
  if (/^\d+(\.\d+)?$/.test(s)) return Math.round(Number(s));
  const clock = /^(?:(\d+):)?(\d+):(\d+)$/.exec(s);
  if (clock !== null) return Number(clock[1] ?? 0) * 3600 + Number(clock[2]) * 60 + Number(clock[3]);
  s = s.replace(/\band\b|,/g, ' ').replace(/\b([a-z]+)\b/g, (w) => (WORDS[w] === undefined ? w : String(WORDS[w])));
  let total = 0;
  let matched = false;
  const re = /(\d+(?:\.\d+)?)\s*([a-z]*)/gy;
  for (;;) {
    while (s[re.lastIndex] === ' ') re.lastIndex++;
    if (re.lastIndex >= s.length) break;
    const m = re.exec(s);
    if (m === null) return undefined;
    const unit = m[2] === '' ? 1 : unitSeconds(m[2]!);
    if (unit === undefined) return undefined;
    total += Number(m[1]) * unit;
    matched = true;
  }
  return matched ? Math.round(total) : undefined;
}
