// graphql-ws (protocol graphql-transport-ws) on the GraphQL path. Operations run
// through yoga's own pipeline (getEnveloped), so HTTP, SSE and WebSocket share
// plugins, context and error masking.
import { randomUUID } from 'node:crypto';
import type http from 'node:http';
import { getOperationAST, type ExecutionArgs, type GraphQLError } from 'graphql';
import type { ServerOptions } from 'graphql-ws';
import { useServer } from 'graphql-ws/use/ws';
import type { YogaServerInstance } from 'graphql-yoga';
import type { Context, ServerContext } from '../context.js';
import { WebSocketServer, type WebSocket } from 'ws';

/** Close code and reason for a subscriber that cannot keep up. */
export const SLOW_CONSUMER_CLOSE = { code: 1008, reason: 'Slow consumer: too many events waiting' } as const;

type Run = ServerOptions['execute'] & {};
type Enveloped = { execute: Run; subscribe: Run };

export function attachWebSockets(
  server: http.Server,
  yoga: YogaServerInstance<ServerContext, Context>,
  options: {
    path: string;
    /** Checks connectionParams.authorization; false closes the socket with 4403. */
    authorize(authorization: string | undefined): Promise<boolean>;
  },
) {
  // noServer: the HTTP server's own errors (a busy port) stay its own.
  const wss = new WebSocketServer({ noServer: true });
  server.on('upgrade', (request, socket, head) => {
    if ((request.url ?? '').split('?')[0] !== options.path) {
      socket.destroy();
      return;
    }
    wss.handleUpgrade(request, socket, head, (ws) => wss.emit('connection', ws, request));
  });
  let inFlight = 0;
  let idle: (() => void) | undefined;

  useServer<Record<string, unknown>, { requestId: string }>(
    {
      onConnect: async (ctx) => {
        const authorization = ctx.connectionParams?.authorization;
        return options.authorize(typeof authorization === 'string' ? authorization : undefined);
      },
      execute: (args) => (args.rootValue as Enveloped).execute(args),
      subscribe: (args) => (args.rootValue as Enveloped).subscribe(args),
      onSubscribe: async (ctx, id, payload) => {
        const socket = ctx.extra.socket;
        const { schema, execute, subscribe, contextFactory, parse, validate } = yoga.getEnveloped({
          req: ctx.extra.request,
          requestId: randomUUID(),
          connectionParams: ctx.connectionParams,
          params: payload,
          dropConnection: () => socket.close(SLOW_CONSUMER_CLOSE.code, SLOW_CONSUMER_CLOSE.reason),
        });
        const document = parse(payload.query);
        const errors = validate(schema, document) as readonly GraphQLError[];
        if (errors.length > 0) return errors;
        let contextValue: Context;
        try {
          contextValue = await contextFactory();
        } catch (err) {
          return [err as GraphQLError]; // masked and logged by the context factory
        }
        if (getOperationAST(document, payload.operationName)?.operation !== 'subscription') {
          inFlight++;
          (ctx.extra as { ops?: Set<string> }).ops ??= new Set();
          (ctx.extra as { ops?: Set<string> }).ops!.add(id);
        }
        return {
          schema,
          operationName: payload.operationName,
          document,
          variableValues: payload.variables,
          contextValue,
          rootValue: { execute, subscribe },
        } satisfies ExecutionArgs;
      },
      onComplete: (ctx, id) => {
        const ops = (ctx.extra as { ops?: Set<string> }).ops;
        if (ops?.delete(id)) {
          inFlight--;
          if (inFlight === 0) idle?.();
        }
      },
    },
    wss,
  );

  return {
    /** Open sockets, for tests and metrics. */
    clients: wss.clients as Set<WebSocket>,
    /**
     * Stops accepting sockets, lets queries and mutations in flight finish (up to
     * `timeoutMs`), then closes every socket with 1001 (going away).
     */
    async close(timeoutMs: number): Promise<void> {
      if (inFlight > 0) {
        await new Promise<void>((resolve) => {
          idle = resolve;
          setTimeout(resolve, timeoutMs).unref();
        });
      }
      for (const client of wss.clients) client.close(1001, 'Server shutting down');
      await new Promise<void>((resolve) => wss.close(() => resolve()));
    },
  };
}
