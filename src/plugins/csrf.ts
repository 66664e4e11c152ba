// Browsers may only send GraphQL requests that need a CORS preflight: a JSON or
// GraphQL body, or any request with the x-graphql-csrf header. A form post or a
// plain GET without it is refused with 403 and the code CSRF_REFUSED, which a
// client can tell apart from a malformed request (BAD_REQUEST).
import { useCSRFPrevention } from '@graphql-yoga/plugin-csrf-prevention';
import { createGraphQLError, type Plugin } from 'graphql-yoga';

const CSRF_HEADER = 'x-graphql-csrf';

export function csrfPreventionPlugin(): Plugin {
  const check = useCSRFPrevention({ requestHeaders: [CSRF_HEADER] }).onRequestParse!;
  return {
    onRequestParse(payload) {
      try {
        return check(payload);
      } catch {
        throw createGraphQLError(
          `Refused as a possible cross-site request: send a JSON body (Content-Type: application/json), or the ${CSRF_HEADER} header with any value`,
          { extensions: { code: 'CSRF_REFUSED', http: { status: 403 } } },
        );
      }
    },
  };
}
