// `npm run cli -- <command>` (also the `ticketql` bin): operator commands on the
// server's configuration. JSON on stdout; errors on stderr with exit code 1.
import { parseArgs } from 'node:util';
import { signToken, TOKEN_ROLES, type TokenRole } from './auth/tokens.js';
import { loadConfig } from './config.js';
import { createDb, type Db } from './db.js';
import { migrate } from './platform/migrate.js';
import { createApiKey } from './domain/api-keys.js';
import type { Deps } from './domain/change.js';
import { createTeam } from './domain/teams.js';
import { SLUG_PATTERN } from './domain/validation.js';
import { createEventBus } from './live/bus.js';
import type { ApiKeyScope } from './generated/prisma/enums.js';
import { encodeId } from './ids.js';
import { jwtSecretFor, openDatabase } from './platform/runtime.js';

const USAGE = `Usage: ticketql <command> [options]

Commands:
  create-team --name NAME --slug SLUG       create a team and an ADMIN key for it
  create-key  --team SLUG --scopes READ,WRITE[,DELETE,ADMIN] [--mode live|test] [--name NAME]
  sign-token  --team SLUG --role admin|agent|customer --sub ID --email EMAIL [--name NAME] [--ttl 1h]
  migrate                                   apply pending migrations
`;

const SCOPES: readonly ApiKeyScope[] = ['READ', 'WRITE', 'DELETE', 'ADMIN'];

class UsageError extends Error {}

type Options = Record<string, string | undefined>;

function required(options: Options, name: string): string {
  const value = options[name];
  if (!value) throw new UsageError(`--${name} is required`);
  return value;
}

async function teamBySlug(db: Db, slug: string) {
  const team = await db.team.findUnique({ where: { slug } });
  if (!team) throw new UsageError(`no team with slug "${slug}"`);
  return team;
}

function parseScopes(value: string): ApiKeyScope[] {
  const scopes = value.split(',').map((s) => s.trim().toUpperCase());
  const unknown = scopes.filter((s) => !SCOPES.includes(s as ApiKeyScope));
  if (unknown.length || scopes.length === 0) {
    throw new UsageError(`--scopes takes a comma-separated list of ${SCOPES.join(', ')}; got "${value}"`);
  }
  return scopes as ApiKeyScope[];
}

function parseMode(value = 'live'): 'LIVE' | 'TEST' {
  if (value !== 'live' && value !== 'test') throw new UsageError(`--mode is live or test; got "${value}"`);
  return value === 'live' ? 'LIVE' : 'TEST';
}

const commands: Record<string, (deps: Deps, options: Options, secret: () => string) => Promise<unknown>> = {
  async 'create-team'(deps, options) {
    const name = required(options, 'name');
    const slug = required(options, 'slug');
    if (!SLUG_PATTERN.test(slug)) throw new UsageError(`--slug must be lowercase letters, digits and dashes; got "${slug}"`);
    const { team, key } = await createTeam(deps, { name, slug }, parseMode(options.mode));
    return { team: { id: encodeId('Team', team.id), name, slug }, apiKey: { id: encodeId('ApiKey', key.id), secret: key.secret } };
  },

  async 'create-key'(deps, options) {
    const scopes = parseScopes(required(options, 'scopes'));
    const team = await teamBySlug(deps.db, required(options, 'team'));
    const key = await createApiKey(deps, team.id, { name: options.name ?? 'CLI key', scopes }, parseMode(options.mode));
    return { id: encodeId('ApiKey', key.id), team: team.slug, scopes, secret: key.secret };
  },

  async 'sign-token'({ db }, options, secret) {
    const role = required(options, 'role') as TokenRole;
    if (!TOKEN_ROLES.includes(role)) throw new UsageError(`--role is one of ${TOKEN_ROLES.join(', ')}; got "${role}"`);
    const team = await teamBySlug(db, required(options, 'team'));
    const email = required(options, 'email');
    if (!/^[^\s@]+@[^\s@]+$/.test(email)) throw new UsageError(`--email is not an email address: "${email}"`);
    const ttl = options.ttl ?? '1h';
    if (!/^\d+\s*[smhdw]$/.test(ttl)) throw new UsageError(`--ttl is a number and a unit (s, m, h, d, w), e.g. 1h; got "${ttl}"`);
    const token = await signToken(
      secret(),
      { sub: required(options, 'sub'), team: encodeId('Team', team.id), role, email, name: options.name },
      ttl,
    );
    return { token, team: team.slug, role, email, expiresIn: ttl };
  },
};

async function run(argv: string[]): Promise<unknown> {
  const [command, ...rest] = argv;
  if (!command || command === '--help' || command === 'help') {
    process.stdout.write(USAGE);
    return undefined;
  }
  if (command !== 'migrate' && !commands[command]) throw new UsageError(`unknown command "${command}"\n${USAGE}`);
  let parsed: Options;
  try {
    parsed = parseArgs({
      args: rest,
      options: Object.fromEntries(
        ['name', 'slug', 'team', 'scopes', 'mode', 'role', 'sub', 'email', 'ttl'].map((o) => [o, { type: 'string' }]),
      ),
      strict: true,
    }).values as Options;
  } catch (err) {
    throw new UsageError((err as Error).message);
  }

  const config = loadConfig();
  // Shares the embedded PostgreSQL of a running server, or starts it for this command.
  const database = await openDatabase(config, { shareRunning: true });
  try {
    const applied = await migrate(database.url);
    if (command === 'migrate') return { applied };
    const db = createDb(database.url, 2);
    try {
      // No subscriber listens to this process: an in-process bus hears its changes.
      return await commands[command]!({ db, bus: createEventBus({}) }, parsed, () => jwtSecretFor(config));
    } finally {
      await db.$disconnect();
    }
  } finally {
    await database.stop();
  }
}

run(process.argv.slice(2)).then(
  (result) => {
    if (result !== undefined) process.stdout.write(`${JSON.stringify(result, null, 2)}\n`);
    process.exit(0);
  },
  (err: unknown) => {
    process.stderr.write(`ticketql: ${err instanceof Error ? err.message : String(err)}\n`);
    process.exit(1);
  },
);
