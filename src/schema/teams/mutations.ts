import * as teams from '../../domain/teams.js';
import { encodeId } from '../../ids.js';
import { builder } from '../builder.js';
import { payloadCursor } from '../common/payloads.js';
import { adminOnly } from '../common/scopes.js';
import { uuidOf } from '../common/global-ids.js';
import { Team, TicketPriorityEnum } from './types.js';

const SlaTargetInput = builder.inputType('SlaTargetInput', {
  description: 'Service level targets for one priority.',
  fields: (t) => ({
    priority: t.field({ type: TicketPriorityEnum, required: true, description: 'The priority.' }),
    firstResponseMinutes: t.int({ required: true, description: 'Minutes within which the first public reply is due.' }),
    resolutionMinutes: t.int({ required: true, description: 'Minutes within which resolution is due.' }),
  }),
});

builder.relayMutationField(
  'createTeam',
  {
    description: 'The new team.',
    inputFields: (t) => ({
      name: t.string({ required: true, description: 'Display name.' }),
      slug: t.string({ required: true, description: 'Unique, lowercase letters, digits and dashes.' }),
      supportEmail: t.string({ description: 'Support inbox, copied on new tickets.' }),
      acceptsPublicTickets: t.boolean({ description: 'Whether anonymous callers may submit tickets. Default false.' }),
      slaTargets: t.field({ type: [SlaTargetInput], description: 'Targets by priority; defaults for those not given.' }),
    }),
  },
  {
    description: 'Creates a separate team and returns its first ADMIN key (admins). The caller gets no access to it.',
    authScopes: adminOnly,
    resolve: (_root, { input }, ctx) => teams.createTeam(ctx, input),
  },
  {
    description: 'The new team and its key.',
    outputFields: (t) => ({
      ...payloadCursor(t),
      // The caller cannot see the new team through its own credential: load it by id.
      team: t.prismaField({
        type: Team,
        description: 'The new team.',
        resolve: (query, r, _args, { db }) => db.team.findUniqueOrThrow({ ...query, where: { id: r.team.id } }),
      }),
      adminKey: t.string({
        description: "The new team's ADMIN API key. Shown once: store it now.",
        resolve: (r) => r.key.secret,
      }),
    }),
  },
);

builder.relayMutationField(
  'updateTeam',
  {
    description: 'The fields to change.',
    inputFields: (t) => ({
      id: t.id({ required: true, description: "The caller's team (team_… or UUID)." }),
      name: t.string({ description: 'New display name.' }),
      slug: t.string({ description: 'New slug.' }),
      supportEmail: t.string({ description: 'New support inbox; null clears it.' }),
      acceptsPublicTickets: t.boolean({ description: 'Whether anonymous callers may submit tickets.' }),
      presenceShowsAgentNames: t.boolean({ description: 'Whether customers see the names of agents typing on their tickets.' }),
      slaTargets: t.field({
        type: [SlaTargetInput],
        description: 'Targets to set, by priority; they apply to new tickets and priority changes.',
      }),
      searchConfiguration: t.string({
        description:
          "PostgreSQL text search configuration of the team's search: simple (the default: words as written), english, german, …; existing texts are indexed again.",
      }),
    }),
  },
  {
    description: 'Changes the team settings (admins).',
    authScopes: adminOnly,
    resolve: async (_root, { input }, ctx) => {
      const team = await teams.updateTeam(ctx, ctx.viewer, uuidOf('Team', input.id, 'input.id'), {
        name: input.name ?? undefined,
        slug: input.slug ?? undefined,
        supportEmail: input.supportEmail,
        acceptsPublicTickets: input.acceptsPublicTickets,
        presenceShowsAgentNames: input.presenceShowsAgentNames,
        slaTargets: input.slaTargets,
        searchConfiguration: input.searchConfiguration ?? undefined,
      });
      return { team };
    },
  },
  {
    description: 'The changed team.',
    outputFields: (t) => ({
      ...payloadCursor(t), team: t.field({ type: Team, description: 'The team.', resolve: (r) => r.team }) }),
  },
);

builder.relayMutationField(
  'deleteTeam',
  {
    description: 'The team to delete.',
    inputFields: (t) => ({ id: t.id({ required: true, description: "The caller's team (team_… or UUID)." }) }),
  },
  {
    description: 'Deletes the team with everything in it: tickets, people, keys (admins). Cannot be undone.',
    authScopes: adminOnly,
    resolve: async (_root, { input }, ctx) => {
      const id = uuidOf('Team', input.id, 'input.id');
      await teams.deleteTeam(ctx, ctx.viewer, id);
      return { deletedTeamId: encodeId('Team', id) };
    },
  },
  {
    description: 'What was deleted.',
    outputFields: (t) => ({
      ...payloadCursor(t),
      deletedTeamId: t.id({ description: 'ID of the deleted team.', resolve: (r) => r.deletedTeamId }),
    }),
  },
);
