// The `cursor` of every mutation payload: the log position of the last event the
// mutation committed, so that a console can tell when the live feed has caught up
// with its own write (read-your-writes).
import SchemaBuilder, { BasePlugin, type PothosOutputFieldConfig, type SchemaTypes } from '@pothos/core';
import type { GraphQLFieldResolver } from 'graphql';
import type { Context } from '../../context.js';

const cursors = new WeakMap<object, string>();

/** The cursor recorded for a payload, or null when its mutation committed no event. */
export const cursorOfPayload = (payload: object): string | null => cursors.get(payload) ?? null;

/**
 * Wraps every root Mutation field. Root mutation fields run one after the other
 * (GraphQL executes them serially), so the position change() leaves in the
 * operation's context after one of them is that field's own.
 */
class MutationCursorPlugin<Types extends SchemaTypes> extends BasePlugin<Types> {
  override wrapResolve(
    resolver: GraphQLFieldResolver<unknown, Types['Context'], object>,
    fieldConfig: PothosOutputFieldConfig<Types>,
  ): GraphQLFieldResolver<unknown, Types['Context'], object> {
    if (fieldConfig.parentType !== 'Mutation') return resolver;
    return async (parent, args, context, info) => {
      const { writes } = context as Context;
      writes.last = null;
      const payload: unknown = await resolver(parent, args, context, info);
      // Set by change() while the resolver ran.
      const last = writes.last as bigint | null;
      if (payload !== null && typeof payload === 'object' && last !== null) cursors.set(payload, last.toString());
      return payload;
    };
  }
}

declare global {
  export namespace PothosSchemaTypes {
    export interface Plugins<Types extends SchemaTypes> {
      mutationCursor: MutationCursorPlugin<Types>;
    }
  }
}

export const mutationCursorPlugin = 'mutationCursor' as const;
SchemaBuilder.registerPlugin(mutationCursorPlugin, MutationCursorPlugin);
