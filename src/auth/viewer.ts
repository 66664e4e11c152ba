// Turns the credential of a request into the Viewer that every resolver and
// visibility rule works from.
import type { Db } from '../db.js';
import type { ApiKeyScope } from '../generated/prisma/enums.js';
import { unauthenticated } from '../errors.js';
import { parseIdOf } from '../ids.js';
import { hashApiKey, looksLikeApiKey } from './api-keys.js';
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
};

export const ANONYMOUS: Viewer = { role: 'ANONYMOUS', teamId: null, scopes: new Set() };

const ALL_SCOPES: ApiKeyScope[] = ['READ', 'WRITE', 'DELETE', 'ADMIN'];
// Keys are only touched in the database when their last-used time is this old.
const LAST_USED_RESOLUTION_MS = 60_000;

export function isStaff(viewer: Viewer): boolean {
  return viewer.role === 'ADMIN' || viewer.role === 'AGENT';
}

async function fromApiKey(db: Db, secret: string): Promise<Viewer> {
  const key = await db.apiKey.findUnique({ where: { hash: hashApiKey(secret) } });
  if (!key || key.revokedAt) throw unauthenticated('Invalid API key');
  const now = Date.now();
  if (!key.lastUsedAt || now - key.lastUsedAt.getTime() > LAST_USED_RESOLUTION_MS) {
    // Best effort, off the request's path: a lost update only makes lastUsedAt older.
    db.apiKey.update({ where: { id: key.id }, data: { lastUsedAt: new Date(now) } }).catch(() => {});
  }
  return {
    role: key.scopes.includes('ADMIN') ? 'ADMIN' : 'AGENT',
    teamId: key.teamId,
    scopes: new Set(key.scopes),
    apiKeyId: key.id,
    name: key.name,
  };
}

async function fromToken(db: Db, token: string, jwtSecret: string): Promise<Viewer> {
  const claims = await verifyToken(jwtSecret, token);
  const invalid = () => unauthenticated('Invalid or expired token');
  if (!claims) throw invalid();
  const teamId = parseIdOf('Team', claims.team);
  const team = teamId ? await db.team.findUnique({ where: { id: teamId }, select: { id: true } }) : null;
  if (!team) throw invalid();
  const email = claims.email.toLowerCase();

  if (claims.role === 'customer') {
    const customer = await db.customer.upsert({
      where: { teamId_email: { teamId: team.id, email } },
      create: { teamId: team.id, email, name: claims.name ?? null },
      update: {},
    });
    return {
      role: 'CUSTOMER',
      teamId: team.id,
      scopes: new Set(['READ', 'WRITE']),
      customerId: customer.id,
      name: customer.name ?? claims.name,
      email,
    };
  }

  const agentId = parseIdOf('Agent', claims.sub);
  const agent = await db.agent.findFirst({
    where: { teamId: team.id, OR: [...(agentId ? [{ id: agentId }] : []), { email }] },
  });
  if (!agent) throw invalid();
  // A token never grants more than the agent record allows.
  const admin = claims.role === 'admin' && agent.role === 'ADMIN';
  return {
    role: admin ? 'ADMIN' : 'AGENT',
    teamId: team.id,
    scopes: new Set(admin ? ALL_SCOPES : ['READ', 'WRITE']),
    agentId: agent.id,
    name: agent.name,
    email: agent.email,
  };
}

/** The viewer of an `Authorization` header value; throws UNAUTHENTICATED for a bad credential. */
export async function authenticate(
  db: Db,
  authorization: string | null | undefined,
  jwtSecret: string,
): Promise<Viewer> {
  if (!authorization) return ANONYMOUS;
  const match = /^Bearer\s+(\S+)\s*$/i.exec(authorization);
  if (!match) throw unauthenticated('Authorization must be "Bearer <API key or token>"');
  const credential = match[1]!;
  if (credential.startsWith('sk_')) {
    if (!looksLikeApiKey(credential)) throw unauthenticated('Invalid API key');
    return fromApiKey(db, credential);
  }
  return fromToken(db, credential, jwtSecret);
}
