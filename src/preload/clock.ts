/** Monotonic ms on CLOCK_MONOTONIC, which every process on the host shares with the launcher. */
export function now(): number {
  const t = process.hrtime();
  return t[0] * 1e3 + t[1] / 1e6;
}
