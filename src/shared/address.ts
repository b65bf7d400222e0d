/** Listen addresses as the preload reports them. Browser-safe. */

/** A listen address on a TCP port ("127.0.0.1:3000"), as opposed to a Unix socket or pipe path. */
export function isTcpAddress(address: string): boolean {
  return /:\d+$/.test(address);
}
