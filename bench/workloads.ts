// The workloads of the benchmark: each a GraphQL operation for ticketql and the
// request that asks the baseline (bench/baseline.ts) the same question.
export type Workload = { name: string; what: string; graphql: { query: string; variables?: Record<string, unknown> }; baseline: { path: string; body?: Record<string, string> } };

export function workloads(s: { teamId: string; ticketId: string }): Workload[] {
  const q = (path: string) => `${path}${path.includes('?') ? '&' : '?'}team=${s.teamId}`;
  return [
    {
      name: 'Q1',
      what: 'one ticket by id (8 fields)',
      graphql: { query: 'query($id: ID!) { ticket(id: $id) { id number title status priority category createdAt updatedAt } }', variables: { id: s.ticketId } },
      baseline: { path: q(`/q1?id=${s.ticketId}`) },
    },
    {
      name: 'Q2',
      what: 'a ticket with its last 20 messages and authors',
      graphql: {
        query: 'query($id: ID!) { ticket(id: $id) { id title messages(last: 20) { edges { node { id body sender createdAt author { ... on Agent { agentName: name } ... on Customer { customerName: name } } } } } } }',
        variables: { id: s.ticketId },
      },
      baseline: { path: q(`/q2?id=${s.ticketId}`) },
    },
    {
      name: 'Q3',
      what: 'tickets(first: 50) by status, with customer, assignee, messageCount',
      graphql: { query: '{ tickets(first: 50, filter: { status: [OPEN] }) { edges { node { id title status customer { name } assignee { name } messageCount } } } }' },
      baseline: { path: q('/q3') },
    },
    {
      name: 'Q4',
      what: 'search (title, customer name, email)',
      graphql: { query: '{ tickets(first: 20, filter: { search: "customer42@" }) { edges { node { id title } } } }' },
      baseline: { path: q('/q4?s=customer42@') },
    },
    {
      name: 'M1',
      what: 'addMessage',
      graphql: { query: 'mutation($t: ID!) { addMessage(input: { ticketId: $t, body: "Benchmark reply" }) { message { id } } }', variables: { t: s.ticketId } },
      baseline: { path: '/m1', body: { ticket: s.ticketId, body: 'Benchmark reply' } },
    },
    {
      name: 'M2',
      what: 'createTicket',
      graphql: { query: 'mutation { createTicket(input: { title: "Benchmark ticket" }) { ticket { id number } } }' },
      baseline: { path: '/m2', body: { team: s.teamId, title: 'Benchmark ticket' } },
    },
  ];
}

/** The same question for the floor server (bench/floor-server.ts): the baseline's SQL behind one yoga field. */
export function floorOperation(w: Workload): { query: string; variables: Record<string, unknown> } {
  const url = new URL(w.baseline.path, 'http://floor');
  const name = url.pathname.slice(1);
  const operation = name.startsWith('m') ? 'mutation' : 'query';
  return { query: `${operation}($p: JSON!) { run(name: "${name}", params: $p) }`, variables: { p: { ...Object.fromEntries(url.searchParams), ...w.baseline.body } } };
}
