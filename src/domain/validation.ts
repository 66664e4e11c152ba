// Input rules of the product, as zod schemas. A failed parse becomes
// BAD_USER_INPUT with one { path, message } per problem, before anything is written.
import { z } from 'zod';
import { badInput } from '../errors.js';
import { TicketPriority } from '../generated/prisma/enums.js';

export const LIMITS = {
  title: 200,
  body: 50_000,
  tags: 20,
  tag: 50,
  metadataKeys: 50,
  metadataKey: 40,
  metadataValue: 500,
  name: 200,
  notes: 50_000,
} as const;

export const title = z.string().trim().min(1, 'must not be empty').max(LIMITS.title, `must be at most ${LIMITS.title} characters`);
export const body = z.string().min(1, 'must not be empty').max(LIMITS.body, `must be at most ${LIMITS.body} characters`);
export const name = z.string().trim().min(1, 'must not be empty').max(LIMITS.name, `must be at most ${LIMITS.name} characters`);
export const email = z
  .string()
  .trim()
  .toLowerCase()
  .pipe(z.email('must be an email address'));
export const category = z
  .string()
  .trim()
  .toLowerCase()
  .regex(/^[a-z0-9]+(?:[-_][a-z0-9]+)*$/, 'must be a lowercase slug such as "bug" or "billing"')
  .max(50, 'must be at most 50 characters');
/** A team's slug: lowercase letters, digits and inner dashes, at most 64 characters. */
export const SLUG_PATTERN = /^[a-z0-9](?:[a-z0-9-]{0,62}[a-z0-9])?$/;
export const slug = z.string().regex(SLUG_PATTERN, 'must be lowercase letters, digits and dashes');
export const priority = z.enum(TicketPriority);
export const url = z.url('must be a URL').max(2000);
export const notes = z.string().max(LIMITS.notes, `must be at most ${LIMITS.notes} characters`);

/** Trimmed, lowercased, de-duplicated; at most 20 tags of at most 50 characters. */
export const tags = z
  .array(z.string().trim().toLowerCase().min(1, 'must not be empty').max(LIMITS.tag, `must be at most ${LIMITS.tag} characters`))
  .transform((list) => [...new Set(list)])
  .refine((list) => list.length <= LIMITS.tags, `at most ${LIMITS.tags} tags`);

const metadataKey = z.string().min(1, 'keys must not be empty').max(LIMITS.metadataKey, `keys must be at most ${LIMITS.metadataKey} characters`);
const metadataValue = z.string().max(LIMITS.metadataValue, `values must be at most ${LIMITS.metadataValue} characters`);

function checkKeyCount(value: Record<string, unknown>, ctx: z.RefinementCtx) {
  if (Object.keys(value).length > LIMITS.metadataKeys) {
    ctx.addIssue({ code: 'custom', message: `at most ${LIMITS.metadataKeys} keys` });
  }
}

/** Metadata as stored: string values only. */
export const metadata = z.record(metadataKey, metadataValue).superRefine(checkKeyCount);
/** A metadata patch: a null value removes the key. */
export const metadataPatch = z.record(metadataKey, metadataValue.nullable());

/** Parses `value` or throws BAD_USER_INPUT with paths under `root` (e.g. "input.title"). */
export function parseInput<T extends z.ZodType>(schema: T, value: unknown, root = 'input'): z.output<T> {
  const result = schema.safeParse(value);
  if (result.success) return result.data;
  throw badInput(
    result.error.issues.map((issue) => ({
      path: [root, ...issue.path.map(String)].join('.'),
      // A bad record key reports "Invalid key in record"; the key's own rule says more.
      message: issue.code === 'invalid_key' ? (issue.issues[0]?.message ?? issue.message) : issue.message,
    })),
  );
}

/** Applies a metadata patch and checks the merged result against the limits. */
export function mergeMetadata(current: Record<string, string>, patch: Record<string, string | null>): Record<string, string> {
  const merged: Record<string, string> = { ...current };
  for (const [key, value] of Object.entries(patch)) {
    if (value === null) delete merged[key];
    else merged[key] = value;
  }
  return parseInput(metadata, merged, 'input.metadata');
}
