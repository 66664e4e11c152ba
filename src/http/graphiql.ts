// GraphiQL with every asset served by this server, so it works offline. The
// assets come from @graphql-yoga/render-graphiql (same version as graphql-yoga)
// and are served as cacheable files instead of being inlined in each page.
import type { ServerResponse } from 'node:http';
import type { GraphiQLOptions } from 'graphql-yoga';
import * as assets from '@graphql-yoga/render-graphiql/graphiql';

const BASE = '/graphiql-assets';
const JS = 'application/javascript; charset=utf-8';

const files: Record<string, { type: string; body: Buffer }> = {
  '/graphiql.css': { type: 'text/css; charset=utf-8', body: Buffer.from(assets.css) },
  '/graphiql.js': { type: JS, body: Buffer.from(assets.js) },
  '/editor.worker.js': { type: JS, body: Buffer.from(assets.editorWorkerService) },
  '/json.worker.js': { type: JS, body: Buffer.from(assets.jsonWorker) },
  '/graphql.worker.js': { type: JS, body: Buffer.from(assets.graphqlWorker) },
};

/** Serves a GraphiQL asset; false when the path is not one. */
export function serveGraphiQLAsset(pathname: string, res: ServerResponse): boolean {
  if (!pathname.startsWith(`${BASE}/`)) return false;
  const file = files[pathname.slice(BASE.length)];
  if (!file) return false;
  res.writeHead(200, {
    'content-type': file.type,
    'content-length': file.body.length,
    'cache-control': 'public, max-age=86400',
  });
  res.end(file.body);
  return true;
}

const escapeJson = (value: unknown) => JSON.stringify(value).replace(/</g, '\\u003c');

/** The GraphiQL page: a small HTML document that loads the assets above. */
export function renderGraphiQL(opts?: GraphiQLOptions): string {
  return `<!doctype html>
<html lang="en">
  <head>
    <meta charset="utf-8" />
    <title>${opts?.title ?? 'GraphiQL'}</title>
    <link rel="icon" href="${assets.favicon}" />
    <link rel="stylesheet" href="${BASE}/graphiql.css" />
  </head>
  <body id="body" class="no-focus-outline">
    <noscript>You need to enable JavaScript to run GraphiQL.</noscript>
    <div id="root"></div>
    <script>
      const workers = {
        editorWorkerService: '${BASE}/editor.worker.js',
        json: '${BASE}/json.worker.js',
        graphql: '${BASE}/graphql.worker.js',
      };
      self.MonacoEnvironment = { globalAPI: false, getWorkerUrl: (_id, label) => workers[label] };
    </script>
    <script src="${BASE}/graphiql.js"></script>
    <script>
      YogaGraphiQL.renderYogaGraphiQL(document.querySelector('#root'), ${escapeJson(opts ?? {})});
    </script>
  </body>
</html>`;
}
