// How the server and the worker start and stop. Start-up prints what it is doing
// (the first start takes a while); every way of being asked to stop — Ctrl-C,
// SIGTERM to npm or to node, a container's stop — runs one shutdown sequence that
// undoes start-up in reverse order, so the database stops last, and the process
// exits only once it has.
import type { Logger } from '../logger.js';

/**
 * SIGINT: Ctrl-C (the terminal sends it to node and npm, and npm passes it on: node
 * sees it twice). SIGTERM: `kill`, container stops, npm passing one on. SIGHUP: the
 * terminal went away.
 */
const STOP_SIGNALS = ['SIGINT', 'SIGTERM', 'SIGHUP'] as const;

/** A start-up failure whose message is the whole story: printed as one line, exit 1. */
export class StartupError extends Error {
  override name = 'StartupError';
}

class StopRequested extends Error {}

const CONNECTION_ERROR = /^(ECONNRESET|ECONNREFUSED|EPIPE|ETIMEDOUT|EHOSTUNREACH|ENETUNREACH|57P01|57P02|57P03)$/;

/** A socket or server connection that broke: the clients (pg pools, ioredis) re-make it. */
function isConnectionError(err: unknown): boolean {
  for (let e = err as { code?: unknown; cause?: unknown } | undefined, depth = 0; e && depth < 5; e = e.cause as typeof e, depth++) {
    if (typeof e.code === 'string' && CONNECTION_ERROR.test(e.code)) return true;
  }
  return false;
}

export type LifecycleOptions = {
  /** Prefix of one-line errors, e.g. "ticketql". */
  name: string;
  log: Logger;
  /**
   * How long one shutdown step may take before the sequence moves on to the next,
   * so that a step that hangs cannot keep the database from being stopped.
   */
  stepTimeoutMs: number;
  /** Where progress lines go. @default process.stdout */
  out?: NodeJS.WritableStream;
};

export type Lifecycle = {
  /** Prints a line of start-up or shutdown progress. */
  progress(message: string): void;
  /**
   * Runs a start-up step. A stop asked for while one runs takes effect before the
   * next (or when start-up is over): a step, a migration say, is never cut in the
   * middle, and what it started is registered with onStop by then.
   */
  step<T>(run: () => Promise<T> | T): Promise<T>;
  /** Registers how to undo what was just started; undone in reverse order. */
  onStop(name: string, stop: () => Promise<void> | void): void;
};

/**
 * Runs `start` with signal handling in place from the first moment. When it
 * resolves the process is running; the first stop signal then runs the shutdown
 * and exits 0 (1 when a step failed). A `StartupError` undoes what was started,
 * prints `name: message` on stderr and exits 1.
 */
export function runProcess(options: LifecycleOptions, start: (life: Lifecycle) => Promise<void>): void {
  const { log, name } = options;
  const out = options.out ?? process.stdout;
  const steps: Array<{ name: string; stop: () => Promise<void> | void }> = [];
  let phase: 'starting' | 'running' | 'stopping' = 'starting';
  let requested: NodeJS.Signals | undefined;

  const progress = (message: string) => void out.write(`  ${message}\n`);
  // A terminal that went away (SIGHUP) must not turn the shutdown into a crash.
  out.on('error', () => {});

  const undo = async (): Promise<boolean> => {
    let clean = true;
    for (const step of steps.splice(0).reverse()) {
      log.debug({ step: step.name }, 'stopping');
      let timer: NodeJS.Timeout | undefined;
      const timedOut = new Promise<'timeout'>((resolve) => {
        timer = setTimeout(() => resolve('timeout'), options.stepTimeoutMs);
      });
      try {
        const result = await Promise.race([Promise.resolve().then(step.stop), timedOut]);
        if (result === 'timeout') {
          clean = false;
          log.error({ step: step.name, timeoutMs: options.stepTimeoutMs }, 'shutdown step did not finish in time; going on');
        }
      } catch (err) {
        clean = false;
        log.error({ err, step: step.name }, 'shutdown step failed');
      } finally {
        clearTimeout(timer);
      }
    }
    return clean;
  };

  const shutdown = async (signal: NodeJS.Signals | undefined) => {
    phase = 'stopping';
    log.info({ signal }, 'shutting down');
    progress(`stopping${signal ? ` (${signal})` : ''} …`);
    const clean = await undo();
    out.write('  stopped\n', () => process.exit(clean ? 0 : 1));
  };

  const onSignal = (signal: NodeJS.Signals) => {
    if (phase === 'running') return void shutdown(signal);
    if (phase === 'starting' && !requested) {
      requested = signal;
      progress(`${signal}: stopping once the current start-up step is done …`);
    }
    // Repeats are expected (Ctrl-C under npm arrives twice) and change nothing.
  };
  for (const signal of STOP_SIGNALS) process.on(signal, onSignal);

  // The last resort, for what no code path caught. A rejected promise nobody awaited
  // (graphile-worker 0.17 completes jobs without awaiting; a lost connection rejects
  // them) leaves no state half-changed: every change is a database transaction, so it
  // is logged and the process goes on. A lost connection thrown as an exception (an
  // 'error' event without a listener) is the same. Any other uncaught exception may
  // have left this process in a state nobody planned for: it stops as on SIGTERM
  // (requests finish, the database stops last) and exits 1.
  process.on('unhandledRejection', (reason) => {
    log.error({ err: reason }, 'unhandled promise rejection; going on');
  });
  process.on('uncaughtException', (err) => {
    if (isConnectionError(err)) {
      log.error({ err }, 'uncaught connection error; going on (the connection is re-made on next use)');
      return;
    }
    log.fatal({ err }, 'uncaught exception; stopping');
    if (phase !== 'stopping') {
      phase = 'stopping';
      void undo().then(() => process.exit(1));
    }
  });

  const life: Lifecycle = {
    progress,
    async step(run) {
      if (requested) throw new StopRequested();
      return run();
    },
    onStop(stepName, stop) {
      steps.push({ name: stepName, stop });
    },
  };

  start(life).then(
    () => {
      if (requested) return shutdown(requested);
      phase = 'running';
    },
    async (err: unknown) => {
      if (err instanceof StopRequested || requested) {
        if (!(err instanceof StopRequested)) log.warn({ err }, 'start-up ended by the stop request');
        return shutdown(requested);
      }
      phase = 'stopping';
      await undo();
      const message = err instanceof StartupError ? err.message : err instanceof Error ? (err.stack ?? err.message) : String(err);
      process.stderr.write(`${name}: ${message}\n`, () => process.exit(1));
    },
  );
}
