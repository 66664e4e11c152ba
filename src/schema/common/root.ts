import { builder } from '../builder.js';

builder.queryType({ description: 'Everything a credential can read.' });

