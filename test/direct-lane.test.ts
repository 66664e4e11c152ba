// The direct lane of live delivery (src/live/direct.ts) and its WebSocket writer: what
// goes straight to a socket, what is handed back to the subscriber's own stream, and
// that a subscriber's events keep their order either way. The subscriber here is a
// stand-in (the result, the socket writes, the budget); the whole path over real
// sockets runs in subscriptions.test.ts, hostile-callers.test.ts and scale-out.test.ts.
import type { ExecutionResult } from 'graphql';
import { describe, expect, test } from 'vitest';
import { LaneGroup, MAX_IN_FLIGHT, type EventBudget, type Lane } from '../src/live/direct.js';
import { createEventBus } from '../src/live/bus.js';
import { MAX_UNTAKEN, MAX_WAITING_BYTES, nextSender } from '../src/http/ws.js';

/** A subscriber that records what was sent to it; results by row name. `behind`: its connection takes nothing. */
function subscriber(results: Record<string, ExecutionResult | Promise<ExecutionResult>>, budget?: EventBudget) {
  const sent: string[] = [];
  const state = { behind: false };
  return {
    sent,
    state,
    subscriber: {
      execute: (row: object) => results[(row as { name: string }).name]!,
      send: (payload: string) => !state.behind && sent.push(payload) > 0,
      budget,
    },
  };
}

/** A delivery that fails unexpectedly fails the test. */
const fail = (err: unknown) => {
  throw err;
};

/** Lets the group's deliveries run. */
const settle = () => new Promise((resolve) => setImmediate(resolve));

const row = (name: string) => ({ name });
const names = (lane: Lane) => lane.handedBack.map((r) => (r as { name: string }).name);

describe('the direct lane', () => {
  test('a result without errors is serialised once and sent to every parked subscriber; one with errors is handed back to each', async () => {
    const results = { a: { data: { n: 1 } }, b: { errors: [new Error('boom')] as never, data: null }, c: Promise.resolve({ data: { n: 3 } }) };
    const group = new LaneGroup(() => {}, fail);
    const one = subscriber(results);
    const two = subscriber(results);
    const lanes = [group.join(one.subscriber), group.join(two.subscriber)];
    let woken = 0;
    for (const lane of lanes) void lane.park().then(() => woken++);
    const a = row('a');
    for (const lane of lanes) lane.take(a);
    await settle();
    expect(one.sent).toEqual(['{"data":{"n":1}}']);
    expect(two.sent).toEqual(['{"data":{"n":1}}']);

    const b = row('b');
    const c = row('c');
    for (const lane of lanes) lane.take(b);
    for (const lane of lanes) lane.take(c);
    await settle();
    // b is handed back, and c behind it: the stream yields both, in order, before anything goes directly again.
    expect(lanes.map(names)).toEqual([
      ['b', 'c'],
      ['b', 'c'],
    ]);
    expect(woken).toBe(2);
    expect(one.sent).toHaveLength(1);
  });

  test('a row settled while its stream runs is handed back; settled() waits for the rows in flight', async () => {
    let release!: (r: ExecutionResult) => void;
    const slow = new Promise<ExecutionResult>((resolve) => (release = resolve));
    const group = new LaneGroup(() => {}, fail);
    const s = subscriber({ slow, fast: { data: { n: 2 } } });
    const lane = group.join(s.subscriber);
    void lane.park();
    lane.take(row('slow'));
    lane.take(row('fast'));
    // An event the lane did not take wakes the stream: it runs, and waits for what the lane holds.
    lane.unpark();
    let settled = false;
    const waiting = lane.settled().then(() => (settled = true));
    await settle();
    expect(settled).toBe(false);
    release({ data: { n: 1 } });
    await waiting;
    expect(names(lane)).toEqual(['slow', 'fast']);
    expect(s.sent).toEqual([]);
  });

  test('spends are taken per credential and event: the first ones granted are sent, the refused ones handed back', async () => {
    const spends: Array<[string, number]> = [];
    const budgetOf = (key: string, left: number): EventBudget => ({
      key,
      spend: async (count) => {
        spends.push([key, count]);
        return Math.min(count, left);
      },
      prepaid: new WeakSet(),
    });
    const group = new LaneGroup(() => {}, fail);
    const results = { e: { data: { n: 1 } } };
    const alice = budgetOf('alice', 1);
    const subs = [subscriber(results, alice), subscriber(results, alice), subscriber(results, budgetOf('bob', 5))];
    const lanes = subs.map((s) => group.join(s.subscriber));
    for (const lane of lanes) void lane.park();
    const e = row('e');
    for (const lane of lanes) lane.take(e);
    await settle();
    expect(spends).toEqual([
      ['alice', 2],
      ['bob', 1],
    ]);
    expect(subs.map((s) => s.sent.length)).toEqual([1, 0, 1]);
    expect(lanes.map(names)).toEqual([[], ['e'], []]);
    // The refused one goes through the pipeline, which spends (and refuses) it itself.
    expect(alice.prepaid.has(results.e)).toBe(false);
  });

  test('an event for a connection that is behind is handed back: the pipeline, which waits for the connection, takes over', async () => {
    const group = new LaneGroup(() => {}, fail);
    const s = subscriber({ a: { data: { n: 1 } }, b: { data: { n: 2 } } });
    const lane = group.join(s.subscriber);
    void lane.park();
    s.state.behind = true;
    lane.take(row('a'));
    lane.take(row('b'));
    await settle();
    expect(names(lane)).toEqual(['a', 'b']);
    expect(s.sent).toEqual([]);
  });

  test('a write that throws hands its row back instead of failing the group\'s delivery', async () => {
    const group = new LaneGroup(() => {}, fail);
    const throwing = subscriber({ e: { data: {} } });
    throwing.subscriber.send = () => {
      throw new Error('socket gone');
    };
    const fine = subscriber({ e: { data: {} } });
    const lanes = [group.join(throwing.subscriber), group.join(fine.subscriber)];
    for (const lane of lanes) void lane.park();
    const e = row('e');
    for (const lane of lanes) lane.take(e);
    await settle();
    expect(lanes.map(names)).toEqual([['e'], []]);
    expect(fine.sent).toEqual(['{"data":{}}']);
  });

  test('a taker that throws on an event leaves it queued for the stream (the listener never throws into the bus)', async () => {
    const bus = createEventBus({});
    const sub = bus.subscribe('team');
    const next = sub.next();
    sub.intercept(() => {
      throw new Error('not an event this process understands');
    });
    bus.publish({ kind: 'ticket-event', id: 'x', seq: 'abc', teamId: 'team', ticketId: 't', customerId: null, messageId: null, isInternal: false, type: 'UPDATED', changedFields: [] });
    expect((await next).value).toMatchObject({ seq: 'abc' });
  });

  test('a failing budget store hands the event back (the stream answers it with a masked error)', async () => {
    const group = new LaneGroup(() => {}, fail);
    const s = subscriber({ e: { data: { n: 1 } } }, { key: 'k', spend: () => Promise.reject(new Error('Redis is away')), prepaid: new WeakSet() });
    const lane = group.join(s.subscriber);
    void lane.park();
    lane.take(row('e'));
    await settle();
    expect(names(lane)).toEqual(['e']);
    expect(s.sent).toEqual([]);
  });

  test('a closed lane sends nothing more; the group is empty when its last subscriber leaves', async () => {
    let emptied = 0;
    const group = new LaneGroup(() => emptied++, fail);
    const one = subscriber({ e: { data: {} } });
    const two = subscriber({ e: { data: {} } });
    const lanes = [group.join(one.subscriber), group.join(two.subscriber)];
    for (const lane of lanes) void lane.park();
    const e = row('e');
    for (const lane of lanes) lane.take(e);
    lanes[0]!.close();
    lanes[0]!.close();
    await settle();
    expect(one.sent).toEqual([]);
    expect(two.sent).toEqual(['{"data":{}}']);
    expect(emptied).toBe(0);
    lanes[1]!.close();
    expect(emptied).toBe(1);
  });
  test('a granted row handed back (it settled while the stream ran) is marked as paid, so the pipeline does not spend for it again', async () => {
    const prepaid = new WeakSet<object>();
    const result = { data: { n: 1 } };
    const group = new LaneGroup(() => {}, fail);
    const s = subscriber({ e: result }, { key: 'k', spend: async (count) => count, prepaid });
    const lane = group.join(s.subscriber);
    void lane.park();
    lane.take(row('e'));
    lane.unpark(); // the stream woke for something else before the spend's answer
    await settle();
    expect(names(lane)).toEqual(['e']);
    expect(prepaid.has(result)).toBe(true);
  });

  test('rows taken by lanes that closed meanwhile cost no execution and no spend; settled() does not wait for them', async () => {
    let executions = 0;
    let spends = 0;
    const group = new LaneGroup(() => {}, fail);
    const lane = group.join({
      execute: () => {
        executions++;
        return { data: {} };
      },
      send: () => true,
      budget: {
        key: 'k',
        spend: async (count) => {
          spends++;
          return count;
        },
        prepaid: new WeakSet(),
      },
    });
    void lane.park();
    lane.take(row('e'));
    const waiting = lane.settled();
    lane.close();
    await waiting;
    await settle();
    expect({ executions, spends }).toEqual({ executions: 0, spends: 0 });
  });

  test(`a lane holding ${MAX_IN_FLIGHT} rows in flight is full: its stream takes no more`, () => {
    const group = new LaneGroup(() => {}, fail);
    const lane = group.join(subscriber({}).subscriber);
    for (let i = 0; i < MAX_IN_FLIGHT - 1; i++) lane.take(row(String(i)));
    expect(lane.full).toBe(false);
    lane.take(row('last'));
    expect(lane.full).toBe(true);
  });

  test('a bus read that settles wakes the parked stream once, however often it parked before', async () => {
    const group = new LaneGroup(() => {}, fail);
    const lane = group.join(subscriber({}).subscriber);
    let release!: (v: string) => void;
    lane.watch(new Promise<string>((resolve) => (release = resolve)));
    const parked = lane.park();
    release('event');
    await parked;
    expect(lane.arrival).toEqual({ value: 'event' });
    // Parking again with the read settled returns at once.
    await lane.park();
  });
});

describe('the WebSocket writer of the direct lane', () => {
  /** A socket that records writes, and has the connection take them when told. */
  function socket(readyState = 1) {
    const sent: string[] = [];
    const untaken: Array<() => void> = [];
    return {
      sent,
      take: () => {
        for (const taken of untaken.splice(0)) taken();
      },
      socket: {
        readyState,
        bufferedAmount: 0,
        send: (data: string, taken: () => void) => {
          sent.push(data);
          untaken.push(taken);
        },
      } as never,
    };
  }

  test('writes the bytes graphql-ws would: JSON.stringify({ id, type: "next", payload })', () => {
    const s = socket();
    const id = 'op "1" \\ \u2028';
    const payload = { data: { ticketEvents: { ticketId: 'tkt_"x"' } } };
    expect(nextSender(s.socket, id)(JSON.stringify(payload))).toBe(true);
    expect(s.sent).toEqual([JSON.stringify({ id, type: 'next', payload })]);
    expect(JSON.parse(s.sent[0]!)).toEqual({ id, type: 'next', payload });
  });

  test(`writes nothing once ${MAX_UNTAKEN} messages of the operation wait for the connection, nor to a closed one`, () => {
    const s = socket();
    const send = nextSender(s.socket, '1');
    for (let i = 0; i < MAX_UNTAKEN; i++) expect(send('{}')).toBe(true);
    expect(send('{}')).toBe(false);
    // The connection took them: the lane may write again.
    s.take();
    expect(send('{}')).toBe(true);
    expect(s.sent).toHaveLength(MAX_UNTAKEN + 1);

    const gone = socket(3);
    expect(nextSender(gone.socket, '1')('{}')).toBe(false);
    expect(gone.sent).toEqual([]);
  });

  test(`writes nothing while more than ${MAX_WAITING_BYTES} bytes of the connection (all its operations) wait`, () => {
    const s = socket();
    (s.socket as { bufferedAmount: number }).bufferedAmount = MAX_WAITING_BYTES + 1;
    expect(nextSender(s.socket, 'another operation')('{}')).toBe(false);
    expect(s.sent).toEqual([]);
  });
});
