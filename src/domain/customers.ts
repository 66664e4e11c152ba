// Customers of a team: one per email address, stored lowercase.
import { z } from 'zod';
import type { Viewer } from '../auth/viewer.js';
import { visibleCustomers } from '../auth/visibility.js';
import { conflictOnDuplicate, notFound } from '../errors.js';
import { change, type Deps } from './change.js';
import * as v from './validation.js';

const DUPLICATE = 'A customer with this email exists in the team';

const CreateCustomerInput = z.object({ email: v.email, name: v.name.nullish() });
const UpdateCustomerInput = z.object({ email: v.email.optional(), name: v.name.nullish() });

export async function createCustomer(deps: Deps, teamId: string, raw: z.input<typeof CreateCustomerInput>) {
  const input = v.parseInput(CreateCustomerInput, raw);
  return conflictOnDuplicate(
    change(deps, ({ tx }) => tx.customer.create({ data: { teamId, email: input.email, name: input.name ?? null } })),
    DUPLICATE,
  );
}

/** `name: null` clears the name; an absent field stays as it is. */
export async function updateCustomer(deps: Deps, viewer: Viewer, id: string, raw: z.input<typeof UpdateCustomerInput>) {
  const input = v.parseInput(UpdateCustomerInput, raw);
  return conflictOnDuplicate(
    change(deps, async ({ tx, announce }) => {
      const found = await tx.customer.findFirst({ where: { id, AND: [visibleCustomers(viewer)] }, select: { id: true } });
      if (!found) throw notFound('Customer');
      announce({ kind: 'credential-changed', teamId: viewer.teamId!, customerId: id });
      return tx.customer.update({ where: { id }, data: input });
    }),
    DUPLICATE,
  );
}

/** Their tickets stay, without a customer; their live subscriptions end. */
export async function deleteCustomer(deps: Deps, viewer: Viewer, id: string) {
  return change(deps, async ({ tx, announce }) => {
    const { count } = await tx.customer.deleteMany({ where: { id, AND: [visibleCustomers(viewer)] } });
    if (count === 0) throw notFound('Customer');
    announce({ kind: 'credential-revoked', teamId: viewer.teamId!, customerId: id });
  });
}
