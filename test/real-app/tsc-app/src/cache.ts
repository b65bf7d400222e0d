/** An in-memory cache with per-entry expiry. */
export class TtlCache<V> {
  private readonly entries = new Map<string, { value: V; expires: number }>();
  private readonly sweeper: ReturnType<typeof setInterval>;

  constructor(private readonly ttlMs: number) {
    // Drops expired entries once a minute. Never cleared: the cache has no close().
    this.sweeper = setInterval(() => this.sweep(), 60_000);
  }

  get(key: string): V | undefined {
    const e = this.entries.get(key);
    return e && e.expires > Date.now() ? e.value : undefined;
  }

  set(key: string, value: V): void {
    this.entries.set(key, { value, expires: Date.now() + this.ttlMs });
  }

  private sweep(): void {
    const now = Date.now();
    for (const [k, e] of this.entries) if (e.expires <= now) this.entries.delete(k);
  }
}
