// The direct lane of live delivery (src/live/direct.ts) and its WebSocket writer: what
// goes straight to a socket, what is handed back to the subscriber's own stream, and
// that a subscriber's events keep their order either way. The subscriber here is a
// stand-in (the result, the socket writes, the budget); the whole path over real
// sockets runs in subscriptions.test.ts, hostile-callers.test.ts and scale-out.test.ts.
import type { ExecutionResult } from 'graphql';
import { describe, expect, test } from 'vitest';
import { LaneGroup, type EventBudget, type Lane } from '../src/live/direct.js';
import { MAX_BUFFERED_BYTES, nextSender, SLOW_CONSUMER_CLOSE } from '../src/http/ws.js';

/** A subscriber that records what was sent to it; results by row name. */
function subscriber(results: Record<string, ExecutionResult | Promise<ExecutionResult>>, budget?: EventBudget) {
  const sent: string[] = [];
  return {
    sent,
    subscriber: {
      execute: (row: object) => results[(row as { name: string }).name]!,
      send: (payload: string) => void sent.push(payload),
      budget,
    },
  };
}

/** Lets the group's deliveries run. */
const settle = () => new Promise((resolve) => setImmediate(resolve));

const row = (name: string) => ({ name });
const names = (lane: Lane) => lane.handedBack.map((r) => (r as { name: string }).name);

describe('the direct lane', () => {
  test('a result without errors is serialised once and sent to every parked subscriber; one with errors is handed back to each', async () => {
    const results = { a: { data: { n: 1 } }, b: { errors: [new Error('boom')] as never, data: null }, c: Promise.resolve({ data: { n: 3 } }) };
    const group = new LaneGroup(() => {});
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
    const group = new LaneGroup(() => {});
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
    });
    const group = new LaneGroup(() => {});
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
  });

  test('a failing budget store hands the event back (the stream answers it with a masked error)', async () => {
    const group = new LaneGroup(() => {});
    const s = subscriber({ e: { data: { n: 1 } } }, { key: 'k', spend: () => Promise.reject(new Error('Redis is away')) });
    const lane = group.join(s.subscriber);
    void lane.park();
    lane.take(row('e'));
    await settle();
    expect(names(lane)).toEqual(['e']);
    expect(s.sent).toEqual([]);
  });

  test('a closed lane sends nothing more; the group is empty when its last subscriber leaves', async () => {
    let emptied = 0;
    const group = new LaneGroup(() => emptied++);
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
});

describe('the WebSocket writer of the direct lane', () => {
  /** A socket that records writes and closes; `bufferedAmount` as given. */
  function socket(bufferedAmount = 0, readyState = 1) {
    const sent: string[] = [];
    const closed: Array<[number | undefined, string | undefined]> = [];
    return {
      sent,
      closed,
      socket: {
        readyState,
        bufferedAmount,
        send: (data: string) => void sent.push(data),
        close: (code?: number, reason?: string) => void closed.push([code, reason]),
      } as never,
    };
  }

  test('writes the bytes graphql-ws would: JSON.stringify({ id, type: "next", payload })', () => {
    const s = socket();
    const id = 'op "1" \\ \u2028';
    const payload = { data: { ticketEvents: { ticketId: 'tkt_"x"' } } };
    nextSender(s.socket, id)(JSON.stringify(payload));
    expect(s.sent).toEqual([JSON.stringify({ id, type: 'next', payload })]);
    expect(JSON.parse(s.sent[0]!)).toEqual({ id, type: 'next', payload });
    expect(s.closed).toEqual([]);
  });

  test('closes a connection with more than MAX_BUFFERED_BYTES waiting as a slow consumer (1008), and writes nothing to a closed one', () => {
    const slow = socket(MAX_BUFFERED_BYTES + 1);
    nextSender(slow.socket, '1')('{}');
    expect(slow.closed).toEqual([[SLOW_CONSUMER_CLOSE.code, SLOW_CONSUMER_CLOSE.reason]]);

    const gone = socket(0, 3);
    nextSender(gone.socket, '1')('{}');
    expect(gone.sent).toEqual([]);
  });
});
