// The one place that reads process.env. Every value is validated at start; a bad
// one stops the process with a message that names the variable.
import { z } from 'zod';
import path from 'node:path';

/** Limits on operations and the cost budget (see plugins/limits.ts). */
export type LimitOptions = {
  /** @default 12 */ maxDepth: number;
  /** @default 30 */ maxAliases: number;
  /** @default 5000 */ maxTokens: number;
  /** @default 20 */ maxDirectives: number;
  /** Highest cost of one operation. @default 50000 */ maxCost: number;
  /** Cost a credential may spend per window. @default 100000 */ budget: number;
  /** @default 60 */ budgetWindowSeconds: number;
  /** Answer introspection queries. @default true outside production */ introspection: boolean;
  /** Hide "Did you mean …?" suggestions. @default true in production */ hideSuggestions: boolean;
};

export const DEFAULT_LIMITS: LimitOptions = {
  maxDepth: 12,
  maxAliases: 30,
  maxTokens: 5000,
  maxDirectives: 20,
  maxCost: 50_000,
  budget: 100_000,
  budgetWindowSeconds: 60,
  introspection: true,
  hideSuggestions: false,
};

/** Timeouts, the metrics token and subscription caps of the transports (see http/ and plugins/limits.ts). */
export type TransportOptions = {
  /** @default 30000 */ requestTimeoutMs: number;
  /** @default 5000 */ keepAliveTimeoutMs: number;
  /** Bearer token for /metrics. @default unset (open) */ metricsToken?: string;
  /** @default 100 */ maxSubscriptionsPerConnection: number;
  /** @default 500 */ maxSubscriptionsPerCredential: number;
};

/** Files on messages (see src/attachments and docs/attachments.md). */
export type AttachmentOptions = {
  /** Largest file. @default 26214400 (25 MiB) */ maxBytes: number;
  /** Files on one message. @default 10 */ maxPerMessage: number;
  /** Larger files in total are linked from emails instead of attached. @default 10485760 (10 MiB) */ emailBytes: number;
  /** Origin of the links in emails, webhooks and answers (e.g. https://support.example.com). @default the request's origin */
  publicUrl?: string;
};

export const DEFAULT_ATTACHMENTS: AttachmentOptions = {
  maxBytes: 26_214_400,
  maxPerMessage: 10,
  emailBytes: 10_485_760,
};

export const DEFAULT_TRANSPORT: TransportOptions = {
  requestTimeoutMs: 30_000,
  keepAliveTimeoutMs: 5_000,
  maxSubscriptionsPerConnection: 100,
  maxSubscriptionsPerCredential: 500,
};

const bool = z
  .enum(['true', 'false', '1', '0', 'yes', 'no'])
  .transform((v) => v === 'true' || v === '1' || v === 'yes');

const postgresUrl = z
  .string()
  .refine((v) => /^postgres(ql)?:\/\//.test(v), 'must be a postgres:// or postgresql:// URL');

const redisUrl = z
  .string()
  .refine((v) => /^rediss?:\/\//.test(v), 'must be a redis:// or rediss:// URL');

const EnvSchema = z.object({
  NODE_ENV: z.enum(['development', 'production', 'test']).default('development'),
  /** Port of the HTTP server. @default 4000 */
  PORT: z.coerce.number().int().min(0).max(65535).default(4000),
  /** Interface to listen on. @default 127.0.0.1 */
  HOST: z.string().min(1).default('127.0.0.1'),
  /** PostgreSQL URL. Unset: an embedded PostgreSQL under DATA_DIR. */
  DATABASE_URL: postgresUrl.optional(),
  /** Apply pending migrations when the server starts. @default true */
  MIGRATE_ON_START: bool.default(true),
  /** Connections in the server's PostgreSQL pool. @default 10 */
  DATABASE_POOL_SIZE: z.coerce.number().int().min(1).max(500).default(10),
  /** Redis URL for pub/sub across processes. Unset: in-process pub/sub. */
  REDIS_URL: redisUrl.optional(),
  /** HS256 secret for people's tokens. Required in production; in development one is kept under DATA_DIR. */
  JWT_SECRET: z.string().min(32, 'must be at least 32 characters').optional(),
  /** Where the embedded database, dev secrets and .eml files live. @default .data */
  DATA_DIR: z.string().min(1).default('.data'),
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  /** Anonymous ticket submissions allowed per client IP and hour. @default 10 */
  PUBLIC_TICKETS_PER_HOUR: z.coerce.number().int().min(0).default(10),
  /**
   * Proxies in front of the server whose X-Forwarded-For entries are trusted: `true` is
   * one (a load balancer), a number that many; the client IP is the entry that many
   * from the right. @default false
   */
  TRUST_PROXY: z
    .string()
    .regex(/^(true|false|yes|no|\d{1,2})$/, 'must be true, false or a number of proxies')
    .transform((v) => (v === 'true' || v === 'yes' ? 1 : v === 'false' || v === 'no' ? 0 : Number(v)))
    .default(0),
  /** Milliseconds a client has to send a whole request (headers and body). @default 30000 */
  REQUEST_TIMEOUT_MS: z.coerce.number().int().min(1000).default(30_000),
  /** Milliseconds an idle keep-alive connection stays open; set above the load balancer's idle timeout. @default 5000 */
  HTTP_KEEP_ALIVE_TIMEOUT_MS: z.coerce.number().int().min(0).default(5_000),
  /** Bearer token that /metrics requires. Unset: /metrics is open (protect it at the load balancer). */
  METRICS_TOKEN: z.string().min(16, 'must be at least 16 characters').optional(),
  /** Subscriptions one WebSocket connection may hold open at once. @default 100 */
  MAX_SUBSCRIPTIONS_PER_CONNECTION: z.coerce.number().int().min(1).default(100),
  /** Subscriptions one credential may hold open at once on one process. @default 500 */
  MAX_SUBSCRIPTIONS_PER_CREDENTIAL: z.coerce.number().int().min(1).default(500),
  /** Milliseconds a presence entry (setPresence) holds without a heartbeat. @default 30000 */
  PRESENCE_TTL_MS: z.coerce.number().int().min(1000).max(600_000).default(30_000),
  /** SMTP server for outgoing mail (smtp:// or smtps://). Unset: .eml files under DATA_DIR/mail. */
  SMTP_URL: z.string().refine((v) => /^smtps?:\/\//.test(v), 'must be an smtp:// or smtps:// URL').optional(),
  /** Sender of outgoing mail. @default "ticketql <no-reply@localhost>" */
  MAIL_FROM: z.string().min(3).default('ticketql <no-reply@localhost>'),
  /** Jobs (emails, webhooks) run at once in this process; 0 runs none here (see npm run worker). @default 2 */
  WORKERS: z.coerce.number().int().min(0).max(64).default(2),
  /**
   * How often each process's job workers beat; the jobs of a worker silent for three
   * beats (its process died) are unlocked for others to run. @default 10000
   */
  JOB_HEARTBEAT_MS: z.coerce.number().int().min(100).max(600_000).default(10_000),
  /** Seconds before each webhook retry, comma-separated. @default 30,120,600,1800,3600,10800,21600,43200 */
  WEBHOOK_RETRY_SCHEDULE: z
    .string()
    .regex(/^\d+(,\d+)*$/, 'must be comma-separated whole seconds, e.g. 30,120,600')
    .default('30,120,600,1800,3600,10800,21600,43200'),
  /** Deepest selection nesting. @default 12 */
  MAX_DEPTH: z.coerce.number().int().min(1).default(12),
  /** Aliases per operation. @default 30 */
  MAX_ALIASES: z.coerce.number().int().min(0).default(30),
  /** Tokens per document. @default 5000 */
  MAX_TOKENS: z.coerce.number().int().min(10).default(5000),
  /** Directives per operation. @default 20 */
  MAX_DIRECTIVES: z.coerce.number().int().min(0).default(20),
  /** Highest cost of one operation (objects × page sizes). @default 50000 */
  MAX_COST: z.coerce.number().int().min(1).default(50_000),
  /** Cost each credential (or anonymous IP) may spend per COST_WINDOW_SECONDS. @default 100000 */
  COST_BUDGET: z.coerce.number().int().min(1).default(100_000),
  /** @default 60 */
  COST_WINDOW_SECONDS: z.coerce.number().int().min(1).default(60),
  /** Answer introspection. @default true, false when NODE_ENV=production */
  INTROSPECTION: bool.optional(),
  /** Largest request body in bytes. @default 1048576 */
  MAX_BODY_BYTES: z.coerce.number().int().min(1024).default(1_048_576),
  /** off | apq (Automatic Persisted Queries) | only (allow-list). @default apq */
  PERSISTED_OPERATIONS: z.enum(['off', 'apq', 'only']).default('apq'),
  /** JSON manifest { sha256: document } of allowed operations; required with PERSISTED_OPERATIONS=only. */
  PERSISTED_OPERATIONS_FILE: z.string().min(1).optional(),
  /** OTLP/HTTP collector (e.g. http://otel-collector:4318): OpenTelemetry traces on. Unset: off. */
  OTEL_EXPORTER_OTLP_ENDPOINT: z.url().optional(),
  /** Directory of attached files; share it between processes. @default DATA_DIR/attachments */
  ATTACHMENTS_DIR: z.string().min(1).optional(),
  /** Largest attached file in bytes. @default 26214400 (25 MiB) */
  MAX_ATTACHMENT_BYTES: z.coerce.number().int().min(1).default(26_214_400),
  /** Files on one message. @default 10 */
  MAX_ATTACHMENTS_PER_MESSAGE: z.coerce.number().int().min(1).max(100).default(10),
  /** Files on one email, in total bytes, above which the email links to them instead. @default 10485760 */
  EMAIL_ATTACHMENT_BYTES: z.coerce.number().int().min(0).default(10_485_760),
  /** Origin that links to attachments point at (answers, emails, webhooks). @default the origin of the request */
  PUBLIC_URL: z.url().optional(),
  /** Milliseconds that open requests get to finish on shutdown. @default 10000 */
  SHUTDOWN_TIMEOUT_MS: z.coerce.number().int().min(0).default(10_000),
});

export type Config = {
  nodeEnv: 'development' | 'production' | 'test';
  port: number;
  host: string;
  databaseUrl: string | undefined;
  migrateOnStart: boolean;
  databasePoolSize: number;
  redisUrl: string | undefined;
  jwtSecret: string | undefined;
  dataDir: string;
  logLevel: string;
  shutdownTimeoutMs: number;
  publicTicketsPerHour: number;
  /** Trusted proxies in front of the server (0: none). */
  trustProxy: number;
  requestTimeoutMs: number;
  keepAliveTimeoutMs: number;
  metricsToken: string | undefined;
  maxSubscriptionsPerConnection: number;
  maxSubscriptionsPerCredential: number;
  presenceTtlMs: number;
  smtpUrl: string | undefined;
  mailFrom: string;
  workers: number;
  webhookRetrySchedule: number[];
  jobHeartbeatMs: number;
  limits: LimitOptions;
  maxBodyBytes: number;
  persistedOperations: 'off' | 'apq' | 'only';
  persistedOperationsFile: string | undefined;
  otlpEndpoint: string | undefined;
  attachmentsDir: string;
  attachments: AttachmentOptions;
};

export class ConfigError extends Error {
  override name = 'ConfigError';
}

/** Reads and validates the configuration; throws ConfigError naming each bad variable. */
export function loadConfig(env: NodeJS.ProcessEnv = process.env): Config {
  // An empty variable means "unset", as in most twelve-factor apps.
  const present = Object.fromEntries(
    Object.keys(EnvSchema.shape)
      .filter((key) => env[key] !== undefined && env[key] !== '')
      .map((key) => [key, env[key]]),
  );
  const parsed = EnvSchema.safeParse(present);
  if (!parsed.success) {
    const problems = parsed.error.issues.map((issue) => {
      const key = String(issue.path[0]);
      return `${key}=${JSON.stringify(env[key])}: ${issue.message}`;
    });
    throw new ConfigError(`Invalid configuration: ${problems.join('; ')}`);
  }
  const e = parsed.data;
  if (e.PERSISTED_OPERATIONS === 'only' && !e.PERSISTED_OPERATIONS_FILE) {
    throw new ConfigError('Invalid configuration: PERSISTED_OPERATIONS=only needs PERSISTED_OPERATIONS_FILE (the allow-list)');
  }
  if (e.NODE_ENV === 'production' && !e.JWT_SECRET) {
    throw new ConfigError('Invalid configuration: JWT_SECRET is required when NODE_ENV=production');
  }
  return {
    nodeEnv: e.NODE_ENV,
    port: e.PORT,
    host: e.HOST,
    databaseUrl: e.DATABASE_URL,
    migrateOnStart: e.MIGRATE_ON_START,
    databasePoolSize: e.DATABASE_POOL_SIZE,
    redisUrl: e.REDIS_URL,
    jwtSecret: e.JWT_SECRET,
    dataDir: path.resolve(e.DATA_DIR),
    logLevel: e.LOG_LEVEL,
    shutdownTimeoutMs: e.SHUTDOWN_TIMEOUT_MS,
    publicTicketsPerHour: e.PUBLIC_TICKETS_PER_HOUR,
    trustProxy: e.TRUST_PROXY,
    requestTimeoutMs: e.REQUEST_TIMEOUT_MS,
    keepAliveTimeoutMs: e.HTTP_KEEP_ALIVE_TIMEOUT_MS,
    metricsToken: e.METRICS_TOKEN,
    maxSubscriptionsPerConnection: e.MAX_SUBSCRIPTIONS_PER_CONNECTION,
    maxSubscriptionsPerCredential: e.MAX_SUBSCRIPTIONS_PER_CREDENTIAL,
    presenceTtlMs: e.PRESENCE_TTL_MS,
    smtpUrl: e.SMTP_URL,
    mailFrom: e.MAIL_FROM,
    workers: e.WORKERS,
    webhookRetrySchedule: e.WEBHOOK_RETRY_SCHEDULE.split(',').map(Number),
    jobHeartbeatMs: e.JOB_HEARTBEAT_MS,
    limits: {
      maxDepth: e.MAX_DEPTH,
      maxAliases: e.MAX_ALIASES,
      maxTokens: e.MAX_TOKENS,
      maxDirectives: e.MAX_DIRECTIVES,
      maxCost: e.MAX_COST,
      budget: e.COST_BUDGET,
      budgetWindowSeconds: e.COST_WINDOW_SECONDS,
      introspection: e.INTROSPECTION ?? e.NODE_ENV !== 'production',
      hideSuggestions: e.NODE_ENV === 'production',
    },
    maxBodyBytes: e.MAX_BODY_BYTES,
    persistedOperations: e.PERSISTED_OPERATIONS,
    persistedOperationsFile: e.PERSISTED_OPERATIONS_FILE,
    otlpEndpoint: e.OTEL_EXPORTER_OTLP_ENDPOINT,
    attachmentsDir: path.resolve(e.ATTACHMENTS_DIR ?? path.join(e.DATA_DIR, 'attachments')),
    attachments: {
      maxBytes: e.MAX_ATTACHMENT_BYTES,
      maxPerMessage: e.MAX_ATTACHMENTS_PER_MESSAGE,
      emailBytes: e.EMAIL_ATTACHMENT_BYTES,
      publicUrl: e.PUBLIC_URL?.replace(/\/+$/, ''),
    },
  };
}
