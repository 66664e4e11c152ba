// The direct lane of live delivery. A thousand WebSocket subscribers of one operation
// who see alike get the same result for each live event; through graphql-ws each of
// them pulls it through its own chain of async iterators (the stream, execution,
// envelop's hooks, graphql-ws' loop, a promise per socket write), which costs several
// times the socket write itself. On the direct lane a subscriber's stream, while it
// waits for the next event, takes the events that come in turn itself (streams.ts);
// each event is then executed once for the group, serialised once, paid for with one
// budget spend per credential, and written to every subscriber's socket in one loop.
//
// Only what the full pipeline would send unchanged goes this way: a result without
// errors, for an event the subscriber's budget grants. The pipeline's per-event hooks
// change nothing else (error masking and the error metrics look at errors only); a
// plugin added later that changes results without errors must hand them back too.
// Anything else (a result with errors, a refused or failed spend, a row that settles
// while the stream runs, a row for a connection that is behind) is handed back to the
// subscriber's own stream, which yields it through the full pipeline (errors masked with
// its request id, the budget's refusal and the end of the stream), in order with what went
// directly. There graphql-ws waits for each write, events wait in the bus queue, and a
// subscriber that cannot keep up is ended by it, as without the lane. A refused spend is
// spent (and refused) again by the pipeline: only a credential already over its budget
// pays for that.
import type { ExecutionResult } from 'graphql';
import { DEFAULT_MAX_QUEUED } from './bus.js';

type PromiseOrValue<T> = T | Promise<T>;

/**
 * Rows one subscriber may have taken and not yet sent: past it the stream stops taking,
 * events wait in its bus queue, and that queue's limit applies (a slow consumer is ended).
 */
export const MAX_IN_FLIGHT = DEFAULT_MAX_QUEUED;

/** How a subscriber pays for each event it gets (plugins/limits.ts). */
export type EventBudget = {
  /** The credential the budget is kept for. */
  key: string;
  /** Spends the cost of `count` events at once; resolves with how many of them, in order, were granted. */
  spend(count: number): Promise<number>;
  /**
   * Results already paid for by the lane and handed back: the pipeline's own spend skips
   * them once (each subscriber's own set; the result objects are the group's).
   */
  prepaid: WeakSet<object>;
};

/** What the direct lane needs of a subscriber. */
export type Subscriber = {
  /** The subscriber's result for an event: the group's shared one. */
  execute(row: object): PromiseOrValue<ExecutionResult>;
  /**
   * Writes a `next` message with this payload (JSON text) to the subscriber; false when it
   * did not, because the connection is behind (or gone): the row is then handed back, and
   * the pipeline's writes, which wait for the connection, hold the stream back.
   */
  send(payload: string): boolean;
  budget?: EventBudget;
};

/** One live event taken by some subscribers of a group. */
type Delivery = { row: object; lanes: Lane[] };

/** The subscribers of a process that share one run of their operation per event (plugins/shared-live-results.ts). */
export class LaneGroup {
  /** Deliveries go out one after another, so each subscriber gets its events in order. */
  private tail: Promise<void> = Promise.resolve();
  private current: Delivery | undefined;
  private size = 0;

  constructor(
    /** Called when the group's last subscriber leaves. */
    private readonly onEmpty: () => void,
    /** Told of a delivery that failed unexpectedly (its rows are handed back). */
    private readonly onError: (err: unknown) => void,
  ) {}

  /** A subscriber's lane in this group. */
  join(subscriber: Subscriber): Lane {
    this.size++;
    return new Lane(this, subscriber);
  }

  /** @internal A lane took `row`. Every lane takes an event in the same dispatch of the bus, so one delivery gathers them. */
  add(row: object, lane: Lane): void {
    let delivery = this.current;
    if (delivery?.row !== row) {
      const created: Delivery = { row, lanes: [] };
      this.current = delivery = created;
      this.tail = this.tail.then(() =>
        this.deliver(created).catch((err: unknown) => {
          this.onError(err);
          // The lanes this delivery had not settled yet; the others have their answer.
          for (const lane of created.lanes) if (lane.lastSettled !== row) lane.settle(row, undefined);
        }),
      );
    }
    delivery.lanes.push(lane);
  }

  /** @internal */
  leave(): void {
    if (--this.size === 0) this.onEmpty();
  }

  private async deliver(delivery: Delivery): Promise<void> {
    if (this.current === delivery) this.current = undefined;
    const { row } = delivery;
    // Subscribers gone meanwhile cost no execution or spend.
    const lanes = delivery.lanes.filter((lane) => !lane.closed);
    if (lanes.length === 0) return;
    let result: ExecutionResult | undefined;
    let payload: string | undefined;
    try {
      // The group's one result for the event: every subscriber's own execution answers with it (shared-live-results.ts).
      result = await lanes[0]!.subscriber.execute(row);
      if (!result.errors?.length) payload = JSON.stringify(result);
    } catch {
      // Handed back: the stream's own pipeline meets the same failure and answers it.
    }
    if (result === undefined || payload === undefined) {
      for (const lane of lanes) lane.settle(row, undefined);
      return;
    }
    const byCredential = new Map<string, Lane[]>();
    for (const lane of lanes) {
      const budget = lane.subscriber.budget;
      if (!budget) lane.settle(row, payload);
      else {
        const same = byCredential.get(budget.key);
        if (same) same.push(lane);
        else byCredential.set(budget.key, [lane]);
      }
    }
    const paid = result;
    await Promise.all(
      [...byCredential.values()].map((same) =>
        same[0]!.subscriber.budget!.spend(same.length).then(
          (granted) => {
            for (let i = 0; i < same.length; i++) {
              if (i < granted) same[i]!.settle(row, payload, paid);
              else same[i]!.settle(row, undefined);
            }
          },
          () => {
            for (const lane of same) lane.settle(row, undefined);
          },
        ),
      ),
    );
  }
}

/** One subscriber's place on the direct lane, used by its stream (live/streams.ts). */
export class Lane {
  /** Rows taken and not yet sent or handed back. */
  private inFlight = 0;
  /** Whether the stream waits for its next event, with everything it yielded sent: only then may rows go directly. */
  private parked = false;
  private isClosed = false;
  private wake: (() => void) | undefined;
  private idle: (() => void) | undefined;
  /** Rows for the stream to yield itself, in order. */
  readonly handedBack: object[] = [];
  /** What the stream's next bus read gave, once it has (see watch). */
  arrival: { value: unknown } | { error: unknown } | undefined;
  /** @internal The last row settled: rows settle in the order they were taken, so a delivery knows the lanes it answered. */
  lastSettled: object | undefined;

  constructor(
    private readonly group: LaneGroup,
    /** @internal */
    readonly subscriber: Subscriber,
  ) {}

  get closed(): boolean {
    return this.isClosed;
  }

  /** Whether the lane holds as many rows in flight as it may: the stream takes no more until they are out. */
  get full(): boolean {
    return this.inFlight >= MAX_IN_FLIGHT;
  }

  /** Takes an event in turn that the subscriber may see and wants: sent directly, or handed back. */
  take(row: object): void {
    this.inFlight++;
    this.group.add(row, this);
  }

  /**
   * @internal The group's answer for a row taken: its payload, or undefined to hand it back.
   * `paid`: the result the subscriber's budget has paid for, when it did.
   */
  settle(row: object, payload: string | undefined, paid?: object): void {
    this.inFlight--;
    this.lastSettled = row;
    if (!this.isClosed) {
      if (payload !== undefined && this.parked && this.handedBack.length === 0 && this.sent(payload)) {
        // Sent.
      } else {
        if (paid) this.subscriber.budget?.prepaid.add(paid);
        this.handedBack.push(row);
        this.parked = false;
        this.wake?.();
      }
    }
    if (this.inFlight === 0) this.idle?.();
  }

  /** Writes `payload`; false when it did not (the connection is behind, or the write failed: the row is handed back). */
  private sent(payload: string): boolean {
    try {
      return this.subscriber.send(payload);
    } catch {
      return false;
    }
  }

  /**
   * The stream's read of the bus, `next`, wakes a parked stream when it settles. One
   * reaction per read, however often the stream parks while it waits (a race per park
   * would pile up reactions on a read that waits for long).
   */
  watch(next: Promise<unknown>): void {
    this.arrival = undefined;
    next.then(
      (value) => {
        this.arrival = { value };
        this.wake?.();
      },
      (error: unknown) => {
        this.arrival = { error };
        this.wake?.();
      },
    );
  }

  /**
   * The stream waits here for its next event, after everything it yielded went out (its
   * consumer asked for more): rows may go directly. Resolves when a row is handed back or
   * the bus read settles (at once when either happened already).
   */
  park(): Promise<void> {
    if (this.handedBack.length || this.arrival) return Promise.resolve();
    this.parked = !this.isClosed;
    return new Promise((resolve) => (this.wake = resolve));
  }

  /** The stream runs again: rows taken from now on are handed back until it parks. */
  unpark(): void {
    this.parked = false;
    this.wake = undefined;
  }

  /** Resolves when every row taken has been sent or handed back, or the lane is closed. */
  settled(): Promise<void> {
    if (this.inFlight === 0 || this.isClosed) return Promise.resolve();
    return new Promise((resolve) => {
      this.idle = () => {
        this.idle = undefined;
        resolve();
      };
    });
  }

  /** The stream ended: nothing more is sent or handed back. */
  close(): void {
    if (this.isClosed) return;
    this.isClosed = true;
    this.parked = false;
    this.handedBack.length = 0;
    this.wake?.();
    this.idle?.();
    this.group.leave();
  }
}
