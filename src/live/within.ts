// Waiting for the next notice of a live stream, but not for ever: streams re-read what
// they follow when a notice is late (a reordering, one lost with Redis away).

/** The promise's value, or undefined when `ms` pass first (a negative `ms` is none at all). */
export function within<T>(promise: Promise<T>, ms: number): Promise<T | undefined> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<undefined>((resolve) => (timer = setTimeout(resolve, Math.max(0, ms), undefined)));
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}
