/** Exhaustiveness guard for discriminated-union switches: a kind left out fails to compile. */
export function assertNever(x: never): never {
  throw new Error(`unhandled message: ${JSON.stringify(x)}`);
}
