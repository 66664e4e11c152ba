// People's bearer tokens: HS256 JWTs signed with JWT_SECRET.
import { jwtVerify, SignJWT } from 'jose';
import { z } from 'zod';

export const TOKEN_ROLES = ['admin', 'agent', 'customer'] as const;
export type TokenRole = (typeof TOKEN_ROLES)[number];

const ClaimsSchema = z.object({
  sub: z.string().min(1),
  team: z.string().min(1),
  role: z.enum(TOKEN_ROLES),
  email: z.string().email(),
  name: z.string().optional(),
});
export type TokenClaims = z.infer<typeof ClaimsSchema>;

const key = (secret: string) => new TextEncoder().encode(secret);

/** Signs a token; `ttl` is a jose time span such as "1h" or "30d". */
export async function signToken(secret: string, claims: TokenClaims, ttl = '1h'): Promise<string> {
  const { sub, ...rest } = claims;
  return new SignJWT(rest)
    .setProtectedHeader({ alg: 'HS256', typ: 'JWT' })
    .setSubject(sub)
    .setIssuedAt()
    .setExpirationTime(ttl)
    .sign(key(secret));
}

/** The claims of a valid token, or undefined for any bad, expired or malformed one. */
export async function verifyToken(secret: string, token: string): Promise<(TokenClaims & { exp: number }) | undefined> {
  try {
    const { payload } = await jwtVerify(token, key(secret), { algorithms: ['HS256'], requiredClaims: ['exp'] });
    const parsed = ClaimsSchema.safeParse(payload);
    return parsed.success ? { ...parsed.data, exp: payload.exp! } : undefined;
  } catch {
    return undefined;
  }
}
