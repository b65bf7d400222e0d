export class UsageError extends Error {
  constructor(message: string, readonly showUsage = false) {
    super(message);
    this.name = 'UsageError';
  }
}

/** "1500", "1500ms", "1.5s", "2m" → ms. */
export function parseDuration(v: string, opt: string): number {
  const m = /^(\d+(?:\.\d+)?)\s*(ms|s|m)?$/.exec(v.trim());
  if (!m) throw new UsageError(`${opt}: not a duration: ${v} (use e.g. 500, 500ms, 5s, 1m)`);
  const n = parseFloat(m[1]);
  return Math.round(m[2] === 's' ? n * 1000 : m[2] === 'm' ? n * 60_000 : n);
}
