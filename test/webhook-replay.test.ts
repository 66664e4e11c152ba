// Webhook replay from a cursor: the endpoint's events of a range of the log, sent
// again in order with the same webhook-ids and bodies, as new recorded attempts;
// never the events it may not receive; rate-limited per endpoint.
import { afterAll, beforeAll, describe, expect, } from 'vitest';
import type { JobWorker } from '../src/jobs/worker.js';
import { encodeId, parseIdOf } from '../src/ids.js';
import { graphql } from './generated/index.js';
import { testApp } from './support/app.js';
import { test } from './support/fixtures.js';
import { jobsDone, startTestWorker } from './support/jobs.js';
import { AddMessage, UpdateTicket } from './support/operations.js';
import { startReceiver } from './support/receivers.js';
import { eventually } from './support/wait.js';

const CreateEndpoint = graphql(`
  mutation ReplayEndpoint($input: CreateWebhookEndpointInput!) {
    createWebhookEndpoint(input: $input) { signingSecret webhookEndpoint { id } }
  }
`);
const UpdateEndpoint = graphql(`
  mutation ReplayEndpointUpdate($input: UpdateWebhookEndpointInput!) { updateWebhookEndpoint(input: $input) { webhookEndpoint { id } } }
`);
const Replay = graphql(`
  mutation Replay($input: ReplayWebhooksInput!) { replayWebhooks(input: $input) { cursor queuedCount refusedCount lastCursor hasMore } }
`);
const Deliveries = graphql(`
  query ReplayDeliveries($id: ID!) { webhookDeliveries(endpointId: $id, first: 50) { edges { node { eventId attempt succeeded } } } }
`);

let worker: JobWorker;
beforeAll(async () => {
  const { db } = testApp();
  worker = await startTestWorker({
    db,
    only: ['webhook:deliver'],
  });
});
afterAll(async () => {
  await worker?.stop();
});

/** An endpoint of the team on a fresh receiver, for created, updated and message_added, internal notes included. */
async function endpointOf(team: { keys: { admin: string } }, execute: typeof import('./support/app.js').execute) {
  let secret = '';
  const receiver = await startReceiver({ secret: () => secret });
  const created = (
    await execute(CreateEndpoint, {
      as: team.keys.admin,
      variables: { input: { url: receiver.url, events: ['ticket.created', 'ticket.updated', 'ticket.message_added'], includeInternal: true } },
    })
  ).ok().createWebhookEndpoint;
  secret = created.signingSecret;
  return { receiver, id: created.webhookEndpoint.id, uuid: parseIdOf('WebhookEndpoint', created.webhookEndpoint.id)! };
}

describe('replayWebhooks', () => {
  test('re-sends the range in order with the same webhook-ids and bodies, as new attempts; refuses what the endpoint may no longer receive', async ({
    team,
    ticket,
    execute,
  }) => {
    const { db } = testApp();
    const endpoint = await endpointOf(team, execute);
    // The ticket's creation (1) came before the endpoint: it was never the endpoint's.
    await execute(UpdateTicket, { as: team.keys.write, variables: { input: { id: ticket.id, priority: 'HIGH' } } }); // 2
    await execute(AddMessage, { as: team.keys.write, variables: { input: { ticketId: ticket.id, body: 'internal', isInternal: true } } }); // 3
    await execute(AddMessage, { as: team.keys.write, variables: { input: { ticketId: ticket.id, body: 'public' } } }); // 4
    await execute(UpdateTicket, { as: team.keys.write, variables: { input: { id: ticket.id, priority: 'LOW' } } }); // 5
    await eventually(() => endpoint.receiver.hits.length === 4, { what: 'the four first deliveries' });
    await jobsDone(db, 'endpointId', [endpoint.uuid]);
    const firsts = new Map(endpoint.receiver.hits.map((h) => [String(h.headers['webhook-id']), h.body]));
    const idOf = async (seq: number) => encodeId('TicketEvent', (await db.ticketEvent.findFirstOrThrow({ where: { teamId: team.team.id, seq } })).id);
    expect(firsts.size).toBe(4);

    // Internal notes no longer wanted: event 3 is refused.
    (await execute(UpdateEndpoint, { as: team.keys.admin, variables: { input: { id: endpoint.id, includeInternal: false } } })).ok();
    const replay = (await execute(Replay, { as: team.keys.admin, variables: { input: { endpointId: endpoint.id, after: '0', before: '5' } } })).ok()
      .replayWebhooks;
    expect(replay).toEqual({ cursor: null, queuedCount: 2, refusedCount: 1, lastCursor: '4', hasMore: false });
    await eventually(() => endpoint.receiver.hits.length === 6, { what: 'the two replayed deliveries' });
    await jobsDone(db, 'endpointId', [endpoint.uuid]);

    const replayed = endpoint.receiver.hits.slice(4);
    const ids = replayed.map((h) => String(h.headers['webhook-id']));
    // In log order (2, then 4), each with the id and the body of its first delivery, signed.
    expect(ids).toEqual([await idOf(2), await idOf(4)]);
    expect(replayed.every((h) => h.signatureValid)).toBe(true);
    // The same content (the body is kept as JSON, so its keys may come in another order; the signature covers what is sent).
    expect(ids.map((id) => JSON.parse(firsts.get(id)!))).toEqual(replayed.map((h) => JSON.parse(h.body)));
    const bodies = replayed.map((h) => JSON.parse(h.body) as { id: string; type: string });
    expect(bodies.map((b) => b.type)).toEqual(['ticket.updated', 'ticket.message_added']);
    expect(bodies.map((b) => b.id)).toEqual(ids);

    // Visible in webhookDeliveries as second attempts.
    const deliveries = (await execute(Deliveries, { as: team.keys.admin, variables: { id: endpoint.id } })).ok().webhookDeliveries.edges.map((e) => e.node);
    expect(deliveries.filter((d) => d.attempt === 2).map((d) => d.eventId).sort()).toEqual([...ids].sort());
    expect(deliveries).toHaveLength(6);
    await endpoint.receiver.close();
  });

  test('bad input writes nothing: cursors, an empty range, a disabled endpoint, another team', async ({ team, otherTeam, execute }) => {
    const { db } = testApp();
    const endpoint = await endpointOf(team, execute);
    const replay = (input: Record<string, unknown>, as = team.keys.admin) =>
      execute(Replay, { as, variables: { input: { endpointId: endpoint.id, after: '0', ...input } as never } });
    expect((await replay({ after: 'abc' })).fails('BAD_USER_INPUT').extensions!.fields).toEqual([
      { path: 'input.after', message: 'must be the cursor of a TicketEvent' },
    ]);
    expect((await replay({ before: '-3' })).fails('BAD_USER_INPUT').extensions!.fields).toEqual([
      { path: 'input.before', message: 'must be the cursor of a TicketEvent' },
    ]);
    expect((await replay({ after: '5', before: '6' })).fails('BAD_USER_INPUT').extensions!.fields).toEqual([
      { path: 'input.before', message: 'must be greater than after + 1: the range holds no event' },
    ]);
    (await replay({}, otherTeam.keys.admin)).fails('NOT_FOUND');
    (await replay({}, team.tokens.agent)).fails('FORBIDDEN');
    (await execute(UpdateEndpoint, { as: team.keys.admin, variables: { input: { id: endpoint.id, enabled: false } } })).ok();
    (await replay({})).fails('CONFLICT');
    const jobs = await db.$queryRaw<unknown[]>`SELECT 1 FROM graphile_worker._private_jobs WHERE payload->>'endpointId' = ${endpoint.uuid}`;
    expect(jobs).toEqual([]);
    await endpoint.receiver.close();
  });

  test('rate-limited per endpoint: the eleventh replay within the hour is refused', async ({ team, execute }) => {
    const endpoint = await endpointOf(team, execute);
    const replay = () => execute(Replay, { as: team.keys.admin, variables: { input: { endpointId: endpoint.id, after: '0' } } });
    for (let i = 0; i < 10; i++) expect((await replay()).ok().replayWebhooks.queuedCount).toBe(0);
    const refused = (await replay()).fails('RATE_LIMITED');
    expect(refused.extensions!.retryAfter).toBeGreaterThan(0);
    await endpoint.receiver.close();
  });
});
