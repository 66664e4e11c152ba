// graphql-ws (protocol graphql-transport-ws) on the GraphQL path. Operations run
// through yoga's own pipeline (getEnveloped), so HTTP, SSE and WebSocket share
// plugins, context and error masking.
import { randomUUID } from 'node:crypto';
import type http from 'node:http';
import { getOperationAST, GraphQLError, type DocumentNode, type ExecutionArgs } from 'graphql';
import type { ServerOptions } from 'graphql-ws';
import { useServer } from 'graphql-ws/use/ws';
import type { YogaServerInstance } from 'graphql-yoga';
import type { Context, ServerContext } from '../context.js';
import type { OperationParams, PersistedOperations } from '../plugins/persisted-operations.js';
import { withErrorCode } from '../plugins/response-extensions.js';
import { WebSocketServer, type WebSocket } from 'ws';

/** Close code and reason for a subscriber that cannot keep up. */
export const SLOW_CONSUMER_CLOSE = { code: 1008, reason: 'Slow consumer: too many events waiting' } as const;

/** Messages of one operation the direct lane may have given a connection that it has not taken yet. */
export const MAX_UNTAKEN = 32;
/** Bytes waiting for a connection (all its operations' messages) past which the direct lane writes nothing to it. */
export const MAX_WAITING_BYTES = 1024 * 1024;

/**
 * graphql-ws' `next` message for the operation `id` with a payload already serialised (the
 * direct lane, live/direct.ts): the bytes JSON.stringify({ id, type: 'next', payload })
 * gives. The lane does not wait for each write to finish; once `maxUntaken` of the
 * operation's messages, or MAX_WAITING_BYTES of the connection's, wait for the connection
 * (its client reads slowly, its kernel buffers are full), it writes nothing and answers
 * false: the lane hands the event back to the stream, whose pipeline waits for the
 * connection, so a slow consumer holds little more here than without the lane and is ended
 * by its bus queue.
 */
export function nextSender(socket: Pick<WebSocket, 'readyState' | 'send' | 'bufferedAmount'>, id: string, maxUntaken: number = MAX_UNTAKEN) {
  const head = `{"id":${JSON.stringify(id)},"type":"next","payload":`;
  let untaken = 0;
  const taken = () => void untaken--;
  return (payload: string): boolean => {
    // Per operation, and for the whole connection (a hundred subscriptions of one client
    // that stopped reading): past either, the pipeline's writes, one at a time, take over.
    if (socket.readyState !== 1 /* OPEN */ || untaken >= maxUntaken || socket.bufferedAmount > MAX_WAITING_BYTES) return false;
    untaken++;
    socket.send(`${head}${payload}}`, taken);
    return true;
  };
}

type Run = ServerOptions['execute'] & {};
/** What this server keeps on each connection, beside graphql-ws' own socket and request. */
type Extra = { ops?: Set<string>; subscriptions?: Set<string>; onClose?: Map<string, () => void> };
type Enveloped = { execute: Run; subscribe: Run };

export function attachWebSockets(
  server: http.Server,
  yoga: YogaServerInstance<ServerContext, Context>,
  options: {
    path: string;
    /** Checks connectionParams.authorization; false closes the socket with 4403. */
    authorize(authorization: string | undefined): Promise<boolean>;
    /** The persisted-operations policy HTTP requests follow. */
    persisted: PersistedOperations;
    /** Largest message a client may send, before or after authenticating. */
    maxPayloadBytes: number;
    /** Subscriptions open at once on one connection (per credential: plugins/limits.ts). */
    maxSubscriptionsPerConnection: number;
  },
) {
  // noServer: the HTTP server's own errors (a busy port) stay its own.
  const wss = new WebSocketServer({ noServer: true, maxPayload: options.maxPayloadBytes });
  server.on('upgrade', (request, socket, head) => {
    if ((request.url ?? '').split('?')[0] !== options.path) {
      socket.destroy();
      return;
    }
    wss.handleUpgrade(request, socket, head, (ws) => wss.emit('connection', ws, request));
  });
  let inFlight = 0;
  let idle: (() => void) | undefined;
  const tooMany = (message: string) => [new GraphQLError(message, { extensions: { code: 'RATE_LIMITED' } })];
  const endSubscription = (extra: Extra, id: string) => void extra.subscriptions?.delete(id);

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
          sendNext: nextSender(socket, id),
          onDisconnect: (key: string, fn: () => void) => {
            const onClose = ((ctx.extra as Extra).onClose ??= new Map());
            if (!onClose.has(key)) onClose.set(key, fn);
          },
        });
        const found = options.persisted.lookup(payload as OperationParams);
        if ('error' in found) return [found.error];
        if (!found.query) return [new GraphQLError('Must provide a query', { extensions: { code: 'BAD_REQUEST' } })];
        // Parse and validation errors (the operation limits among them) are the
        // client's: answered as errors of this operation, the socket stays open.
        let document: DocumentNode;
        try {
          document = parse(found.query);
          const errors = validate(schema, document) as readonly GraphQLError[];
          if (errors.length > 0) return errors.map(withErrorCode);
        } catch (err) {
          if (err instanceof GraphQLError) return [withErrorCode(err)];
          throw err;
        }
        // A subscription takes its place on the connection before anything is awaited,
        // so that the cap counts subscriptions in the order the client sent them.
        const extra = ctx.extra as Extra;
        const isSubscription = getOperationAST(document, payload.operationName)?.operation === 'subscription';
        if (isSubscription) {
          extra.subscriptions ??= new Set();
          // graphql-ws forgets a subscription as soon as the client completes it; its
          // own ending (onComplete) may come after the client's next subscribe.
          for (const open of [...extra.subscriptions]) if (!(open in ctx.subscriptions)) endSubscription(extra, open);
          if (extra.subscriptions.size >= options.maxSubscriptionsPerConnection) {
            return tooMany(`At most ${options.maxSubscriptionsPerConnection} subscriptions per connection`);
          }
          extra.subscriptions.add(id);
        }
        let contextValue: Context;
        try {
          contextValue = await contextFactory();
        } catch (err) {
          extra.subscriptions?.delete(id);
          return [err as GraphQLError]; // masked and logged by the context factory
        }
        options.persisted.register(found.register, contextValue.viewer);
        if (!isSubscription) {
          inFlight++;
          (extra.ops ??= new Set()).add(id);
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
        const extra = ctx.extra as Extra;
        endSubscription(extra, id);
        if (extra.ops?.delete(id)) {
          inFlight--;
          if (inFlight === 0) idle?.();
        }
      },
      onClose: (ctx) => {
        const extra = ctx.extra as Extra;
        for (const id of [...(extra.subscriptions ?? [])]) endSubscription(extra, id);
        for (const fn of extra.onClose?.values() ?? []) fn();
        extra.onClose?.clear();
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
