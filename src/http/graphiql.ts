// GraphiQL with every asset served by this server, so it works offline. The
// assets come from @graphql-yoga/render-graphiql (same version as graphql-yoga)
// and are served as cacheable files instead of being inlined in each page.
// They are loaded on the first GraphiQL request, not at start: the module is 9 MB of
// source whose strings and buffers hold about 40 MB of heap, which a server that only
// answers API calls would otherwise carry (and its collector trace) for nothing.
import type { ServerResponse } from 'node:http';
import type { GraphiQLOptions } from 'graphql-yoga';

const BASE = '/graphiql-assets';
const JS = 'application/javascript; charset=utf-8';

type Assets = typeof import('@graphql-yoga/render-graphiql/graphiql');
type File = { type: string; body: Buffer };

let loading: Promise<{ favicon: string; files: Record<string, File> }> | undefined;

/** The assets, imported once, on first use. */
const loadAssets = () =>
  (loading ??= import('@graphql-yoga/render-graphiql/graphiql').then((assets: Assets): { favicon: string; files: Record<string, File> } => ({
    favicon: assets.favicon,
    files: {
      '/graphiql.css': { type: 'text/css; charset=utf-8', body: Buffer.from(assets.css) },
      '/graphiql.js': { type: JS, body: Buffer.from(assets.js) },
      '/editor.worker.js': { type: JS, body: Buffer.from(assets.editorWorkerService) },
      '/json.worker.js': { type: JS, body: Buffer.from(assets.jsonWorker) },
      '/graphql.worker.js': { type: JS, body: Buffer.from(assets.graphqlWorker) },
    },
  })));

const NAMES: ReadonlySet<string> = new Set(['/graphiql.css', '/graphiql.js', '/editor.worker.js', '/json.worker.js', '/graphql.worker.js']);

/** Whether assets have been loaded (they are not until GraphiQL is first asked for). */
export const graphiqlAssetsLoaded = () => loading !== undefined;

/** Serves a GraphiQL asset; false when the path is not one. */
export function serveGraphiQLAsset(pathname: string, res: ServerResponse): boolean {
  if (!pathname.startsWith(`${BASE}/`)) return false;
  const name = pathname.slice(BASE.length);
  if (!NAMES.has(name)) return false;
  loadAssets().then(
    ({ files }) => {
      const file = files[name]!;
      res.writeHead(200, {
        'content-type': file.type,
        'content-length': file.body.length,
        'cache-control': 'public, max-age=86400',
      });
      res.end(file.body);
    },
    (err: Error) => {
      res.writeHead(500, { 'content-type': 'text/plain; charset=utf-8' });
      res.end(`GraphiQL assets unavailable: ${err.message}`);
    },
  );
  return true;
}

const escapeJson = (value: unknown) => JSON.stringify(value).replace(/</g, '\\u003c');

/** The GraphiQL page: a small HTML document that loads the assets above. */
export async function renderGraphiQL(opts?: GraphiQLOptions): Promise<string> {
  const { favicon } = await loadAssets();
  return `<!doctype html>
<html lang="en">
  <head>
    <meta charset="utf-8" />
    <title>${opts?.title ?? 'GraphiQL'}</title>
    <link rel="icon" href="${favicon}" />
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
