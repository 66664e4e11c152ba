// Turns the credential of a request into the Viewer that every resolver and
// visibility rule works from.
import { queryOne, type Db } from '../db.js';
import type { ApiKeyScope } from '../generated/prisma/enums.js';
import { unauthenticated } from '../errors.js';
import { parseIdOf } from '../ids.js';
import { hashApiKey, looksLikeApiKey } from './api-keys.js';
import type { CredentialCache } from './credential-cache.js';
import { verifyToken } from './tokens.js';

export type Role = 'ADMIN' | 'AGENT' | 'CUSTOMER' | 'ANONYMOUS';

export type Viewer = {
  role: Role;
  /** Null only for anonymous callers. */
  teamId: string | null;
  scopes: ReadonlySet<ApiKeyScope>;
  apiKeyId?: string;
  agentId?: string;
  customerId?: string;
  name?: string;
  email?: string;
  /** When the credential stops being valid (tokens): open subscriptions end then. */
  expiresAt?: Date;
};

export const ANONYMOUS: Viewer = { role: 'ANONYMOUS', teamId: null, scopes: new Set() };

const ALL_SCOPES: ApiKeyScope[] = ['READ', 'WRITE', 'DELETE', 'ADMIN'];
// Keys are only touched in the database when their last-used time is this old.
const LAST_USED_RESOLUTION_MS = 60_000;

export function isStaff(viewer: Viewer): boolean {
  return viewer.role === 'ADMIN' || viewer.role === 'AGENT';
}

// Every request resolves its credential, so these lookups are single prepared
// statements (queryOne) rather than Prisma queries, and their rows are kept for a
// second in a CredentialCache, which drops a team's rows as soon as the bus tells
// of a revoked key, a changed or deleted agent or customer, or a deleted team
// (credential-cache.ts): a revoked credential fails on every process at once, and
// within a second at the latest.
type KeyRow = { id: string; team_id: string; name: string; scopes: ApiKeyScope[]; last_used_at: Date | null };

/** A row from the cache, or else from the database (and then cached). */
async function lookup<Row extends object>(
  cache: CredentialCache | undefined,
  key: string,
  teamOf: (row: Row) => string,
  read: () => Promise<Row | undefined>,
): Promise<Row | undefined> {
  const cached = cache?.get<Row>(key);
  if (cached) return cached;
  const generation = cache?.generation() ?? 0;
  const row = await (cache ? cache.shared(key, read) : read());
  if (row && cache) cache.set(teamOf(row), key, row, generation);
  return row;
}

async function fromApiKey(db: Db, secret: string, cache?: CredentialCache): Promise<Viewer> {
  const hash = hashApiKey(secret);
  const key = await lookup<KeyRow>(
    cache,
    `key:${hash}`,
    (row) => row.team_id,
    () =>
      queryOne<KeyRow>(
        db,
        'viewer-api-key',
        'SELECT id, team_id, name, scopes::text[] AS scopes, last_used_at FROM api_keys WHERE hash = $1 AND revoked_at IS NULL',
        [hash],
      ),
  );
  if (!key) throw unauthenticated('Invalid API key');
  const now = Date.now();
  if (!key.last_used_at || now - key.last_used_at.getTime() > LAST_USED_RESOLUTION_MS) {
    // Best effort, off the request's path: a lost update only makes lastUsedAt older.
    // The (cached) row takes the new time too, so the next requests do not write it again.
    key.last_used_at = new Date(now);
    db.apiKey.update({ where: { id: key.id }, data: { lastUsedAt: new Date(now) } }).catch(() => {});
  }
  return {
    role: key.scopes.includes('ADMIN') ? 'ADMIN' : 'AGENT',
    teamId: key.team_id,
    scopes: new Set(key.scopes),
    apiKeyId: key.id,
    name: key.name,
  };
}

async function fromToken(db: Db, token: string, jwtSecret: string, cache?: CredentialCache): Promise<Viewer> {
  const claims = await verifyToken(jwtSecret, token);
  const invalid = () => unauthenticated('Invalid or expired token');
  if (!claims) throw invalid();
  const teamId = parseIdOf('Team', claims.team);
  if (!teamId) throw invalid();
  const email = claims.email.toLowerCase();

  if (claims.role === 'customer') {
    const known = await lookup<{ id: string; name: string | null }>(
      cache,
      `customer:${teamId}:${email}`,
      () => teamId,
      () => queryOne(db, 'viewer-customer', 'SELECT id, name FROM customers WHERE team_id = $1 AND email = $2', [teamId, email]),
    );
    // First visit: the customer record is created (the team must exist).
    const customer =
      known ??
      (await db.team.findUnique({ where: { id: teamId }, select: { id: true } }).then((team) =>
        team
          ? db.customer.upsert({
              where: { teamId_email: { teamId, email } },
              create: { teamId, email, name: claims.name ?? null },
              update: {},
            })
          : null,
      ));
    if (!customer) throw invalid();
    return {
      role: 'CUSTOMER',
      teamId,
      scopes: new Set(['READ', 'WRITE']),
      customerId: customer.id,
      name: customer.name ?? claims.name,
      email,
      expiresAt: new Date(claims.exp * 1000),
    };
  }

  // The agent named by the token's sub (agt_…), or else by its email.
  const agentId = parseIdOf('Agent', claims.sub) ?? null;
  const agent = await lookup<{ id: string; name: string; email: string; role: string }>(
    cache,
    `agent:${teamId}:${agentId}:${email}`,
    () => teamId,
    () =>
      queryOne(
        db,
        'viewer-agent',
        'SELECT id, name, email, role::text AS role FROM agents WHERE team_id = $1 AND (id = $2 OR email = $3) ORDER BY id = $2 DESC LIMIT 1',
        [teamId, agentId, email],
      ),
  );
  if (!agent) throw invalid();
  // A token never grants more than the agent record allows.
  const admin = claims.role === 'admin' && agent.role === 'ADMIN';
  return {
    role: admin ? 'ADMIN' : 'AGENT',
    teamId,
    scopes: new Set(admin ? ALL_SCOPES : ['READ', 'WRITE']),
    agentId: agent.id,
    name: agent.name,
    email: agent.email,
    expiresAt: new Date(claims.exp * 1000),
  };
}

/** The viewer of an `Authorization` header value; throws UNAUTHENTICATED for a bad credential. */
export async function authenticate(
  db: Db,
  authorization: string | null | undefined,
  jwtSecret: string,
  cache?: CredentialCache,
): Promise<Viewer> {
  if (!authorization) return ANONYMOUS;
  const match = /^Bearer\s+(\S+)\s*$/i.exec(authorization);
  if (!match) throw unauthenticated('Authorization must be "Bearer <API key or token>"');
  const credential = match[1]!;
  if (credential.startsWith('sk_')) {
    if (!looksLikeApiKey(credential)) throw unauthenticated('Invalid API key');
    return fromApiKey(db, credential, cache);
  }
  return fromToken(db, credential, jwtSecret, cache);
}

/**
 * The viewers of a server: one authentication per HTTP request (shared by the
 * idempotency check and the context), and per WebSocket operation from its
 * connection_init payload.
 */
export function viewersOf(db: Db, jwtSecret: string, cache?: CredentialCache) {
  const viewers = new WeakMap<Request, Promise<Viewer>>();
  return {
    ofRequest(request: Request): Promise<Viewer> {
      let viewer = viewers.get(request);
      if (!viewer) viewers.set(request, (viewer = authenticate(db, request.headers.get('authorization'), jwtSecret, cache)));
      return viewer;
    },
    ofConnection: (params: Record<string, unknown>) =>
      authenticate(db, typeof params.authorization === 'string' ? params.authorization : undefined, jwtSecret, cache),
  };
}
