/**
 * Wrapped functions look like the ones they replace: same `name` and `length`, and
 * Function.prototype.toString gives the original's source (`function setTimeout() { [native
 * code] }` for natives), through one patched toString that is itself disguised. Code that
 * checks for native functions or prints them sees what it would untraced.
 */
const originals = new WeakMap<Function, Function>();
let installed = false;

function install(): void {
  if (installed) return;
  installed = true;
  const FP = Function.prototype as unknown as { toString: Function };
  const orig = FP.toString;
  // Method syntax: like the native, it has no `prototype` and is not a constructor.
  const toString = {
    toString(this: unknown) {
      const o = typeof this === 'function' ? originals.get(this) : undefined;
      // eslint-disable-next-line prefer-rest-params
      return orig.apply(o ?? this, arguments);
    },
  }.toString;
  originals.set(toString, orig);
  copyShape(toString, orig);
  const d = Object.getOwnPropertyDescriptor(FP, 'toString');
  Object.defineProperty(FP, 'toString', { ...d, value: toString });
}

function copyShape(wrapper: Function, orig: Function): void {
  for (const k of ['name', 'length'] as const) {
    const d = Object.getOwnPropertyDescriptor(orig, k);
    if (d) {
      try {
        Object.defineProperty(wrapper, k, d);
      } catch {}
    }
  }
}

/**
 * Makes Function.prototype.toString give `orig`'s source for `wrapper` (a Proxy of `orig`, whose
 * name and length already are the original's: defining them on it would define them on `orig`).
 */
export function showSourceOf(wrapper: Function, orig: Function): void {
  try {
    install();
    originals.set(wrapper, originals.get(orig) ?? orig);
  } catch {}
}

/** Makes `wrapper` present itself as `orig`. Safe to call for any pair; never throws. */
export function disguise<T extends Function>(wrapper: T, orig: Function): T {
  try {
    install();
    originals.set(wrapper, originals.get(orig) ?? orig);
    copyShape(wrapper, orig);
  } catch {}
  return wrapper;
}
