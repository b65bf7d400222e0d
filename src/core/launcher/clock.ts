/** The launcher's clock: monotonic milliseconds, the same clock the preloads report on. */
export function monoMs(): number {
  const t = process.hrtime();
  return t[0] * 1e3 + t[1] / 1e6;
}
