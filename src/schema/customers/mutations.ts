import { z } from 'zod';
import { conflictOnDuplicate, notFound } from '../../errors.js';
import * as v from '../../domain/validation.js';
import { encodeId } from '../../ids.js';
import { visibleCustomers } from '../../auth/visibility.js';
import { builder } from '../builder.js';
import { staffDelete, staffWrite } from '../common/scopes.js';
import { uuidOf } from '../common/global-ids.js';
import { Customer } from './types.js';

const DUPLICATE = 'A customer with this email exists in the team';

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
    resolve: async (_root, { input }, { db, viewer }) => {
      const data = v.parseInput(z.object({ email: v.email, name: v.name.nullish() }), input);
      const customer = await conflictOnDuplicate(
        db.customer.create({ data: { teamId: viewer.teamId!, email: data.email, name: data.name ?? null } }),
        DUPLICATE,
      );
      return { customer };
    },
  },
  { description: 'The created customer.', outputFields: (t) => ({ customer: t.field({ type: Customer, description: 'The customer.', resolve: (r) => r.customer }) }) },
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
    resolve: async (_root, { input }, { db, viewer }) => {
      const id = uuidOf('Customer', input.id, 'input.id');
      const data = v.parseInput(z.object({ email: v.email.optional(), name: v.name.nullish() }), {
        email: input.email ?? undefined,
        name: input.name,
      });
      const found = await db.customer.findFirst({ where: { id, AND: [visibleCustomers(viewer)] }, select: { id: true } });
      if (!found) throw notFound('Customer');
      const customer = await conflictOnDuplicate(db.customer.update({ where: { id }, data }), DUPLICATE);
      return { customer };
    },
  },
  { description: 'The changed customer.', outputFields: (t) => ({ customer: t.field({ type: Customer, description: 'The customer.', resolve: (r) => r.customer }) }) },
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
    resolve: async (_root, { input }, { db, viewer, bus }) => {
      const id = uuidOf('Customer', input.id, 'input.id');
      const { count } = await db.customer.deleteMany({ where: { id, AND: [visibleCustomers(viewer)] } });
      if (count === 0) throw notFound('Customer');
      bus.publish({ kind: 'credential-revoked', teamId: viewer.teamId!, customerId: id });
      return { deletedCustomerId: encodeId('Customer', id) };
    },
  },
  {
    description: 'What was deleted.',
    outputFields: (t) => ({
      deletedCustomerId: t.id({ description: 'ID of the deleted customer.', resolve: (r) => r.deletedCustomerId }),
    }),
  },
);
