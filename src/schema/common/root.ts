import { builder } from '../builder.js';

builder.queryType({ description: 'Everything a credential can read.' });

builder.mutationType({ description: 'Every change, Relay style: one `input`, one payload.' });
