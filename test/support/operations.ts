// Operations shared by several test files.
import { graphql } from '../generated/index.js';
import type { CreateTicketInput } from '../generated/graphql.js';
import { execute } from './app.js';

// Spread by name (...TicketFields) in the operations below; codegen reads it from here.
graphql(`
  fragment TicketFields on Ticket {
    id
    number
    title
    status
    priority
    category
    tags
    notes
    metadata
    customer { id name email }
    assignee { id name }
    messageCount
    firstResponseAt
    responseDeadline
    resolutionDeadline
    responseTier
    resolutionTier
    slaPaused
    slaBreached
    createdAt
    updatedAt
    closedAt
  }
`);

export const CreateTicket = graphql(`
  mutation CreateTicket($input: CreateTicketInput!) {
    createTicket(input: $input) {
      ticketId
      ticket { ...TicketFields }
    }
  }
`);

export const UpdateTicket = graphql(`
  mutation UpdateTicket($input: UpdateTicketInput!) {
    updateTicket(input: $input) { ticket { ...TicketFields } }
  }
`);

export const AddMessage = graphql(`
  mutation AddMessage($input: AddMessageInput!) {
    addMessage(input: $input) {
      message { id sender senderName senderAvatarUrl body isInternal createdAt author { __typename ... on Agent { id } ... on Customer { id } } }
      ticket { ...TicketFields }
    }
  }
`);

export const GetTicket = graphql(`
  query GetTicket($id: ID!) {
    ticket(id: $id) {
      ...TicketFields
      messages(first: 50) {
        totalCount
        edges { node { id sender body isInternal senderName } }
      }
    }
  }
`);

/** Creates a ticket as `as` and returns it (fails the test on errors). */
export async function newTicket(as: string, input: CreateTicketInput) {
  const res = await execute(CreateTicket, { as, variables: { input } });
  return res.ok().createTicket.ticket!;
}
