// The JSON body limit (MAX_BODY_BYTES), as yoga's maxRequestBodySize applies it, for
// every request but multipart ones: their files have a limit of their own
// (MAX_ATTACHMENT_BYTES each, checked as they stream in by plugins/uploads.ts) and
// their fields this one. Bodies with a Content-Length over it are refused earlier,
// by the HTTP server.
import { createGraphQLError, type Plugin } from 'graphql-yoga';
import { isMultipart } from './uploads.js';

const tooLarge = (limit: number) =>
  createGraphQLError(`Request body too large: at most ${limit} bytes`, { extensions: { code: 'REQUEST_ENTITY_TOO_LARGE', http: { status: 413 } } });

export function bodyLimitPlugin(limit: number): Plugin {
  return {
    onRequestParse({ request, requestParser, setRequestParser, fetchAPI }) {
      if (isMultipart(request.headers.get('content-type'))) return;
      const length = request.headers.get('content-length');
      if (length != null && (!/^\d+$/.test(length) || Number(length) > limit)) throw tooLarge(limit);
      // A body with a Content-Length within the limit is all there is: Node's HTTP parser
      // reads that many bytes and no more. Only a chunked body is counted as it streams in
      // (a stream through a TransformStream costs several per cent of a small query's CPU).
      if (length != null || !requestParser || !request.body) return;
      setRequestParser((req) => {
        let read = 0;
        // A native stream needs the native TransformStream (graphql-yoga issue 4583).
        const Transform = req.body instanceof ReadableStream ? globalThis.TransformStream : fetchAPI.TransformStream;
        const body = req.body!.pipeThrough(
          new Transform({
            transform(chunk: Uint8Array, controller) {
              read += chunk.byteLength;
              if (read > limit) controller.error(tooLarge(limit));
              else controller.enqueue(chunk);
            },
          }),
        );
        // @ts-expect-error duplex is missing from the Request types
        return requestParser(new fetchAPI.Request(req.url, { method: req.method, headers: req.headers, signal: req.signal, body, duplex: 'half' }));
      });
    },
  };
}
