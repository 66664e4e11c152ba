import { describe, expect, test } from 'vitest';
import { inject } from 'vitest';
import { verifyToken } from '../src/auth/tokens.js';
import { graphql } from './generated/index.js';
import { execute } from './support/app.js';
import { cleanEnv, cli } from './support/process.js';

const Viewer = graphql(`
  query CliViewer { viewer { role scopes team { slug } } }
`);

const SECRET = 'cli-test-secret-cli-test-secret-0123456789';

describe('ticketql CLI', () => {
  const env = () => cleanEnv({ DATABASE_URL: inject('databaseUrl'), JWT_SECRET: SECRET });

  test('create-team prints the team and an ADMIN key that works', async () => {
    const slug = `cli-${Date.now().toString(36)}`;
    const res = await cli(['create-team', '--name', 'CLI Team', '--slug', slug], env());
    expect(res.stderr).toBe('');
    expect(res.code).toBe(0);
    const out = res.json();
    expect(out.team).toMatchObject({ name: 'CLI Team', slug });
    expect(out.team.id).toMatch(/^team_/);
    expect(out.apiKey.secret).toMatch(/^sk_live_[0-9A-Za-z]{32}$/);
    const viewer = (await execute(Viewer, { as: out.apiKey.secret })).ok().viewer;
    expect(viewer).toEqual({ role: 'ADMIN', scopes: ['READ', 'WRITE', 'DELETE', 'ADMIN'], team: { slug } });

    const key = await cli(['create-key', '--team', slug, '--scopes', 'READ,WRITE', '--mode', 'test'], env());
    expect(key.code).toBe(0);
    expect(key.json().secret).toMatch(/^sk_test_/);
    expect((await execute(Viewer, { as: key.json().secret })).ok().viewer.scopes).toEqual(['READ', 'WRITE']);

    const token = await cli(
      ['sign-token', '--team', slug, '--role', 'customer', '--sub', 'u1', '--email', 'Kim@Example.com', '--ttl', '2h'],
      env(),
    );
    expect(token.code).toBe(0);
    const claims = await verifyToken(SECRET, token.json().token);
    expect(claims).toMatchObject({ sub: 'u1', role: 'customer', email: 'Kim@Example.com', team: out.team.id });
  });

  test('errors go to stderr with exit code 1', async () => {
    const cases: Array<[string[], RegExp]> = [
      [['create-key', '--team', 'no-such-team', '--scopes', 'READ'], /no team with slug "no-such-team"/],
      [['create-key', '--team', 'x', '--scopes', 'READ,OWNER'], /--scopes takes/],
      [['create-team', '--name', 'X'], /--slug is required/],
      [['create-team', '--name', 'X', '--slug', 'Bad Slug'], /--slug must be/],
      [['sign-token', '--team', 'x', '--role', 'root', '--sub', 'a', '--email', 'a@b.c'], /--role is one of admin, agent, customer; got "root"/],
      [['frobnicate'], /unknown command "frobnicate"/],
      [['create-team', '--colour', 'red'], /Unknown option '--colour'/],
    ];
    for (const [args, message] of cases) {
      const res = await cli(args, env());
      expect(res.code, args.join(' ')).toBe(1);
      expect(res.stdout).toBe('');
      expect(res.stderr).toMatch(message);
    }
  });

  test('migrate reports what it applied (nothing on a migrated database)', async () => {
    const res = await cli(['migrate'], env());
    expect(res.code).toBe(0);
    expect(res.json()).toEqual({ applied: [] });
  });
});
