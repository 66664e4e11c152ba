import { notFound } from '../../errors.js';
import { visibleCustomers } from '../../auth/visibility.js';
import { builder } from '../builder.js';
import { containsText } from '../common/search.js';
import { checkCursor } from '../common/cursors.js';
import { uuidOf } from '../common/global-ids.js';
import { pageSizeLimit } from '../common/paging.js';
import { Customer } from './types.js';

builder.queryFields((t) => ({
  customer: t.prismaField({
    type: Customer,
    nullable: true,
    description: 'A customer by ID (cus_… or UUID).',
    authScopes: { scope: 'READ' },
    args: { id: t.arg.id({ required: true, description: 'The customer ID (cus_…) or its UUID.' }) },
    resolve: async (query, _root, { id }, { db, viewer }) => {
      const customer = await db.customer.findFirst({
        ...query,
        where: { id: uuidOf('Customer', id), AND: [visibleCustomers(viewer)] },
      });
      if (!customer) throw notFound('Customer');
      return customer;
    },
  }),
  customers: t.prismaConnection(
    {
      type: Customer,
      description: "The team's customers, newest first (a customer sees only themself).",
      authScopes: { scope: 'READ' },
      cursor: 'id',
      maxSize: pageSizeLimit,
      args: { search: t.arg.string({ description: 'Substring of the name or email, case-insensitive.' }) },
      totalCount: (_c, { search }, { db, viewer }) =>
        db.customer.count({ where: { AND: [visibleCustomers(viewer), searchWhere(search)] } }),
      resolve: async (query, _root, args, { db, viewer }) => {
        await checkCursor(query, args, (id) => db.customer.count({ where: { id, AND: [visibleCustomers(viewer)] } }));
        return db.customer.findMany({
          ...query,
          where: { AND: [visibleCustomers(viewer), searchWhere(args.search)] },
          orderBy: [{ createdAt: 'desc' }, { id: 'desc' }],
        });
      },
    },
    { name: 'CustomerConnection', description: 'A page of customers.' },
    { name: 'CustomerEdge', description: 'A customer in a page.' },
  ),
}));

function searchWhere(search: string | null | undefined) {
  const text = search?.trim();
  if (!text) return {};
  const contains = containsText(text);
  return { OR: [{ name: contains }, { email: contains }] };
}
