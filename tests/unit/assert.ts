/**
 * Minimal assertions for tests (the @std/assert package is not reachable from this network).
 */

/** Thrown when an assertion fails. */
export class AssertionError extends Error {
  override name = "AssertionError";
}

/** Deep structural equality for JSON-like values, Maps, Sets and typed arrays. */
export function deepEqual(a: unknown, b: unknown): boolean {
  if (Object.is(a, b)) return true;
  if (typeof a !== "object" || typeof b !== "object" || a === null || b === null) return false;
  if (Object.getPrototypeOf(a) !== Object.getPrototypeOf(b)) return false;
  if (a instanceof Map && b instanceof Map) {
    if (a.size !== b.size) return false;
    for (const [k, v] of a) if (!b.has(k) || !deepEqual(v, b.get(k))) return false;
    return true;
  }
  if (a instanceof Set && b instanceof Set) {
    if (a.size !== b.size) return false;
    for (const v of a) if (!b.has(v)) return false;
    return true;
  }
  if (ArrayBuffer.isView(a) && ArrayBuffer.isView(b)) {
    const x = new Uint8Array(a.buffer, a.byteOffset, a.byteLength);
    const y = new Uint8Array(b.buffer, b.byteOffset, b.byteLength);
    return x.length === y.length && x.every((v, i) => v === y[i]);
  }
  const ka = Object.keys(a as object);
  const kb = Object.keys(b as object);
  if (ka.length !== kb.length) return false;
  for (const k of ka) {
    if (!Object.hasOwn(b as object, k)) return false;
    if (!deepEqual((a as Record<string, unknown>)[k], (b as Record<string, unknown>)[k])) {
      return false;
    }
  }
  return true;
}

function show(value: unknown): string {
  if (value instanceof Map) return `Map(${JSON.stringify([...value])})`;
  if (value instanceof Set) return `Set(${JSON.stringify([...value])})`;
  try {
    return JSON.stringify(value, (_k, v) => (typeof v === "bigint" ? `${v}n` : v));
  } catch {
    return String(value);
  }
}

/** Asserts deep equality. */
export function assertEquals<T>(actual: T, expected: T, message?: string): void {
  if (!deepEqual(actual, expected)) {
    throw new AssertionError(
      `${message ? message + ": " : ""}expected ${show(expected)}, got ${show(actual)}`,
    );
  }
}

/** Asserts deep inequality. */
export function assertNotEquals<T>(actual: T, expected: T, message?: string): void {
  if (deepEqual(actual, expected)) {
    throw new AssertionError(`${message ? message + ": " : ""}did not expect ${show(actual)}`);
  }
}

/** Asserts a truthy value. */
export function assert(condition: unknown, message = "assertion failed"): asserts condition {
  if (!condition) throw new AssertionError(message);
}

/** Asserts that fn throws (optionally an instance of the given class, with a message part). */
export function assertThrows(
  fn: () => unknown,
  errorClass?: abstract new (...args: never[]) => Error,
  messageIncludes?: string,
): Error {
  try {
    fn();
  } catch (e) {
    checkError(e, errorClass, messageIncludes);
    return e as Error;
  }
  throw new AssertionError("expected the function to throw");
}

/** Asserts that the promise rejects (optionally with the given class and message part). */
export async function assertRejects(
  fn: () => Promise<unknown>,
  errorClass?: abstract new (...args: never[]) => Error,
  messageIncludes?: string,
): Promise<Error> {
  try {
    await fn();
  } catch (e) {
    checkError(e, errorClass, messageIncludes);
    return e as Error;
  }
  throw new AssertionError("expected the promise to reject");
}

function checkError(
  e: unknown,
  errorClass?: abstract new (...args: never[]) => Error,
  messageIncludes?: string,
) {
  if (errorClass && !(e instanceof errorClass)) {
    throw new AssertionError(`expected ${errorClass.name}, got ${show(String(e))}`);
  }
  if (messageIncludes && !String((e as Error)?.message).includes(messageIncludes)) {
    throw new AssertionError(`expected message to include "${messageIncludes}", got ${e}`);
  }
}
