// The Prisma client of the running server: pure JavaScript through the pg driver adapter.
import { PrismaPg } from '@prisma/adapter-pg';
import { PrismaClient } from './generated/prisma/client.js';

export type Db = PrismaClient;

/** A client with its own pool; `onQuery` sees every SQL statement (tests count them). */
export function createDb(url: string, poolSize: number, onQuery?: (sql: string) => void): Db {
  const adapter = new PrismaPg({ connectionString: url, max: poolSize });
  if (!onQuery) return new PrismaClient({ adapter });
  const db = new PrismaClient({ adapter, log: [{ emit: 'event', level: 'query' }] });
  db.$on('query', (event) => onQuery(event.query));
  return db;
}
