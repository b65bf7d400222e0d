// Small statistics helpers. Percentiles use linear interpolation between order statistics.
export function quantile(xs, q) {
  const a = xs.filter((x) => Number.isFinite(x)).sort((x, y) => x - y);
  if (a.length === 0) return NaN;
  const pos = (a.length - 1) * q;
  const lo = Math.floor(pos);
  const hi = Math.ceil(pos);
  return a[lo] + (a[hi] - a[lo]) * (pos - lo);
}
export const median = (xs) => quantile(xs, 0.5);
export const p95 = (xs) => quantile(xs, 0.95);
export const min = (xs) => Math.min(...xs);
export const max = (xs) => Math.max(...xs);
export function summary(xs, digits = 2) {
  const r = (x) => (Number.isFinite(x) ? +x.toFixed(digits) : null);
  return { n: xs.length, min: r(quantile(xs, 0)), p50: r(quantile(xs, 0.5)), p90: r(quantile(xs, 0.9)), p95: r(quantile(xs, 0.95)), max: r(quantile(xs, 1)) };
}
export const round = (x, d = 3) => (Number.isFinite(x) ? +x.toFixed(d) : null);
