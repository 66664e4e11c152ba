/**
 * A case-insensitive substring match of `text` as typed: Prisma's `contains` passes
 * LIKE's wildcards through, so `%`, `_` and the escape character `\` are escaped here.
 */
export function containsText(text: string) {
  return { contains: text.replace(/[\\%_]/g, (c) => `\\${c}`), mode: 'insensitive' as const };
}
