import * as customers from '../../domain/customers.js';
import { encodeId } from '../../ids.js';
import { builder } from '../builder.js';
import { readBack, payloadCursor } from '../common/payloads.js';
import { staffDelete, staffWrite } from '../common/scopes.js';
import { uuidOf } from '../common/global-ids.js';
import { Customer } from './types.js';

builder.relayMutationField(
  'createCustomer',
  {
    description: 'The new customer.',
    inputFields: (t) => ({
      email: t.string({ required: true, description: 'Email address, unique in the team (stored lowercase).' }),
      name: t.string({ description: 'Display name.' }),
    }),
  },
  {
    description: 'Adds a customer to the team.',
    authScopes: staffWrite,
    resolve: async (_root, { input }, ctx) => ({ customer: await customers.createCustomer(ctx, ctx.viewer.teamId!, input) }),
  },
  {
    description: 'The created customer.',
    outputFields: (t) => ({
      ...payloadCursor(t),
      customer: t.field({ type: Customer, ...readBack, description: 'The customer.', resolve: (r) => r.customer }),
    }),
  },
);

builder.relayMutationField(
  'updateCustomer',
  {
    description: 'The fields to change.',
    inputFields: (t) => ({
      id: t.id({ required: true, description: 'The customer (cus_… or UUID).' }),
      email: t.string({ description: 'New email address.' }),
      name: t.string({ description: 'New display name; null clears it.' }),
    }),
  },
  {
    description: 'Changes a customer.',
    authScopes: staffWrite,
    resolve: async (_root, { input }, ctx) => {
      const id = uuidOf('Customer', input.id, 'input.id');
      const customer = await customers.updateCustomer(ctx, ctx.viewer, id, { email: input.email ?? undefined, name: input.name });
      return { customer };
    },
  },
  {
    description: 'The changed customer.',
    outputFields: (t) => ({
      ...payloadCursor(t),
      customer: t.field({ type: Customer, ...readBack, description: 'The customer.', resolve: (r) => r.customer }),
    }),
  },
);

builder.relayMutationField(
  'deleteCustomer',
  {
    description: 'The customer to delete.',
    inputFields: (t) => ({ id: t.id({ required: true, description: 'The customer (cus_… or UUID).' }) }),
  },
  {
    description: 'Deletes a customer. Their tickets stay, without a customer.',
    authScopes: staffDelete,
    resolve: async (_root, { input }, ctx) => {
      const id = uuidOf('Customer', input.id, 'input.id');
      await customers.deleteCustomer(ctx, ctx.viewer, id);
      return { deletedCustomerId: encodeId('Customer', id) };
    },
  },
  {
    description: 'What was deleted.',
    outputFields: (t) => ({
      ...payloadCursor(t),
      deletedCustomerId: t.id({ description: 'ID of the deleted customer.', resolve: (r) => r.deletedCustomerId }),
    }),
  },
);
