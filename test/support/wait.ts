// Waiting for something to happen, never for a fixed time: a check polled until it
// holds, with a deadline generous enough for a loaded machine and a failure that
// says what did not happen.

export type WaitOptions = {
  /** @default 30000 */
  timeoutMs?: number;
  /** What is awaited, for the failure message (a function is called when it fails). */
  what?: string | (() => string);
};

const POLL_MS = 25;

/**
 * The first truthy value `check` returns, polled until the deadline. A number as the
 * second argument is the timeout in milliseconds.
 */
export async function eventually<T>(
  check: () => T | undefined | null | false | Promise<T | undefined | null | false>,
  options: number | WaitOptions = {},
): Promise<T> {
  const { timeoutMs = 30_000, what = 'the condition' } = typeof options === 'number' ? { timeoutMs: options } : options;
  const until = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value) return value;
    if (Date.now() > until) throw new Error(`timed out after ${timeoutMs} ms waiting for ${typeof what === 'function' ? what() : what}`);
    await new Promise((resolve) => setTimeout(resolve, POLL_MS));
  }
}

/** Resolves with the first emission of `event` on `emitter`, or fails after `timeoutMs`. */
export function nextEvent<T = unknown>(
  emitter: { once(event: string, listener: (value: T) => void): unknown; off(event: string, listener: (value: T) => void): unknown },
  event: string,
  timeoutMs = 30_000,
): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const timer = setTimeout(() => {
      emitter.off(event, listener);
      reject(new Error(`timed out after ${timeoutMs} ms waiting for the '${event}' event`));
    }, timeoutMs);
    const listener = (value: T) => {
      clearTimeout(timer);
      resolve(value);
    };
    emitter.once(event, listener);
  });
}
