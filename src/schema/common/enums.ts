import { builder } from '../builder.js';

export const OrderDirectionEnum = builder.enumType('OrderDirection', {
  description: 'Sort direction.',
  values: {
    ASC: { description: 'Smallest (or oldest) first.' },
    DESC: { description: 'Largest (or newest) first.' },
  } as const,
});
