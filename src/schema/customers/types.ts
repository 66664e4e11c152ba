import { builder } from '../builder.js';
import { visibleCustomers } from '../../auth/visibility.js';

export const Customer = builder.prismaNode('Customer', {
  description: 'A person who asks the team for help. One per email address and team.',
  id: { field: 'id', description: 'The customer ID (cus_…).' },
  // Missing, or not visible to the viewer: node(id:) answers null.
  nullable: true,
  findUnique: (id, { viewer }) => ({ id, AND: [visibleCustomers(viewer)] }),
  fields: (t) => ({
    name: t.exposeString('name', { nullable: true, description: 'Display name, when known.' }),
    email: t.exposeString('email', { description: 'Email address (lowercase).' }),
    createdAt: t.expose('createdAt', { type: 'DateTime', description: 'When the customer was first seen.' }),
    updatedAt: t.expose('updatedAt', { type: 'DateTime', description: 'When the customer last changed.' }),
  }),
});
