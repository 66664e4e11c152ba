// The demo team of a fresh development database (`npm start` with no DATABASE_URL).
import fs from 'node:fs';
import path from 'node:path';
import type { Viewer } from '../auth/viewer.js';
import type { Db } from '../db.js';
import type { ApiKeyScope, TicketPriority, TicketStatus } from '../generated/prisma/enums.js';
import { createEventBus } from '../live/bus.js';
import { createAgent } from './agents.js';
import { createCustomer } from './customers.js';
import { createTeam } from './teams.js';
import { addMessage, createTicket, updateTicket } from './tickets.js';

const DEV_KEY_FILE = 'dev-admin-key';

/**
 * On a database with no team yet, creates the demo team with an admin agent,
 * an admin API key and a few sample tickets, and keeps the key in DATA_DIR so
 * that every start can print it. Returns the key when it is known and still valid.
 */
export async function ensureDemoTeam(db: Db, dataDir: string): Promise<string | undefined> {
  const file = path.join(dataDir, DEV_KEY_FILE);
  if ((await db.team.count()) === 0) {
    // Before the server starts nobody subscribes: an in-process bus hears its changes.
    const deps = { db, bus: createEventBus({}) };
    const { team, key } = await createTeam(
      deps,
      { name: 'Demo', slug: 'demo', supportEmail: 'support@demo.test', acceptsPublicTickets: true },
      'TEST',
    );
    await createAgent(deps, team.id, { name: 'Demo Admin', email: 'admin@demo.test', role: 'ADMIN' });
    fs.mkdirSync(dataDir, { recursive: true });
    fs.writeFileSync(file, key.secret, { mode: 0o600 });
    await addSampleTickets(db, team.id);
    return key.secret;
  }
  return fs.existsSync(file) ? fs.readFileSync(file, 'utf8').trim() : undefined;
}

type Step =
  | { reply: string }
  | { note: string }
  | { customerReply: string }
  | { status: TicketStatus }
  | { assign: true };

type SampleTicket = {
  customer: number;
  title: string;
  body: string;
  priority: TicketPriority;
  category: string;
  tags: string[];
  metadata?: Record<string, string>;
  steps: Step[];
};

const SAMPLE_CUSTOMERS = [
  { name: 'Maya Lopez', email: 'maya@example.com' },
  { name: 'Tom Becker', email: 'tom@example.com' },
  { name: 'Priya Nair', email: 'priya@example.com' },
];

// One ticket in each open status and one resolved, every priority, one internal note
// at least: the first queries in GraphiQL have something to show.
const SAMPLE_TICKETS: SampleTicket[] = [
  {
    customer: 0,
    title: 'Password reset email never arrives',
    body: 'I asked for a password reset three times today and nothing came, not even in spam.',
    priority: 'HIGH',
    category: 'login',
    tags: ['email', 'password-reset'],
    steps: [
      { reply: "Sorry about that. I've sent it again from our side: could you check and tell me whether it arrived?" },
      { status: 'PENDING' },
      { customerReply: "Still nothing, I'm afraid." },
      { note: 'Mail logs: their provider bounced our last three messages (550, spam policy). Asked the mail team to check our sending IP.' },
      { assign: true },
    ],
  },
  {
    customer: 1,
    title: 'Invoice 2024-118 shows the wrong VAT number',
    body: 'Our VAT number changed in March, but the latest invoice still shows the old one.',
    priority: 'NORMAL',
    category: 'billing',
    tags: ['invoice'],
    steps: [{ reply: 'Thanks, Tom. Which VAT number should it show? I will have the invoice reissued.' }, { status: 'PENDING' }],
  },
  {
    customer: 2,
    title: 'CSV export times out for large boards',
    body: 'Exporting our main board (about 12,000 rows) fails after a minute with "Request timed out".',
    priority: 'URGENT',
    category: 'bug',
    tags: ['export', 'performance'],
    metadata: { plan: 'enterprise' },
    steps: [
      { note: 'Reproduced with a 12,000-row board: the export query runs for 95 s. Engineering is on it.' },
      { assign: true },
      { status: 'IN_PROGRESS' },
      { reply: 'We could reproduce it and are working on a fix; I will keep you posted here.' },
    ],
  },
  {
    customer: 0,
    title: 'How do I add a second admin?',
    body: 'My colleague needs to manage billing too. How do I give her admin rights?',
    priority: 'LOW',
    category: 'question',
    tags: ['account'],
    steps: [{ reply: 'Under Settings → Team → Members, choose Invite and pick the Admin role.' }, { status: 'RESOLVED' }],
  },
  {
    customer: 1,
    title: 'Dark mode for the dashboard?',
    body: 'Any plans for a dark theme? We work late shifts.',
    priority: 'NORMAL',
    category: 'feature-request',
    tags: ['ui'],
    steps: [],
  },
];

/**
 * Sample customers and tickets for the demo team, written through the same domain
 * functions as the API (events, SLA deadlines, counts), by the customers and the
 * team's first admin.
 */
async function addSampleTickets(db: Db, teamId: string): Promise<void> {
  const admin = await db.agent.findFirstOrThrow({ where: { teamId, role: 'ADMIN' }, orderBy: { createdAt: 'asc' } });
  const staff: Viewer = {
    role: 'ADMIN',
    teamId,
    scopes: new Set<ApiKeyScope>(['READ', 'WRITE', 'DELETE', 'ADMIN']),
    agentId: admin.id,
    name: admin.name,
    email: admin.email,
  };
  // Nobody follows the demo's events as they are made; they are in the log for catch-up.
  const deps = { db, bus: createEventBus({}) };
  const customers = await Promise.all(SAMPLE_CUSTOMERS.map((c) => createCustomer(deps, teamId, { name: c.name, email: c.email })));
  const customerViewer = (i: number): Viewer => ({
    role: 'CUSTOMER',
    teamId,
    scopes: new Set<ApiKeyScope>(['READ', 'WRITE']),
    customerId: customers[i]!.id,
    name: customers[i]!.name ?? undefined,
    email: customers[i]!.email,
  });
  const [before] = await db.$queryRaw<Array<{ last: string }>>`SELECT coalesce(max(id), 0)::text AS last FROM graphile_worker.jobs`;

  for (const sample of SAMPLE_TICKETS) {
    const customer = customerViewer(sample.customer);
    const ticket = await createTicket(deps, customer, teamId, {
      title: sample.title,
      body: sample.body,
      priority: sample.priority,
      category: sample.category,
      tags: sample.tags,
    });
    if (sample.metadata) await updateTicket(deps, staff, ticket.id, { metadata: sample.metadata });
    for (const step of sample.steps) {
      if ('reply' in step) await addMessage(deps, staff, ticket.id, { body: step.reply });
      else if ('note' in step) await addMessage(deps, staff, ticket.id, { body: step.note, isInternal: true });
      else if ('customerReply' in step) await addMessage(deps, customer, ticket.id, { body: step.customerReply });
      else if ('status' in step) await updateTicket(deps, staff, ticket.id, { status: step.status });
      else await updateTicket(deps, staff, ticket.id, { assigneeId: admin.id });
    }
  }

  // The sample customers are made up: the emails their tickets caused are dropped
  // before a worker could send them (or write them to DATA_DIR/mail).
  await db.$executeRaw`SELECT graphile_worker.complete_jobs(array(
    SELECT id FROM graphile_worker.jobs WHERE task_identifier = 'email:send' AND id > ${before?.last ?? '0'}::bigint))`;
}
