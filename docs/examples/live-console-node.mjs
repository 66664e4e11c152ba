// docs/examples/live-console-node.mjs: prints the team's ticket events, one JSON line
// each, after the cursor given as argument (or from now on). From the repository:
//   TICKETQL_CREDENTIAL=sk_test_… node docs/examples/live-console-node.mjs [cursor]
import WebSocket from 'ws';
import { followTicketEvents } from './live-console.mjs';

const stop = followTicketEvents({
  url: process.env.TICKETQL_URL ?? 'ws://localhost:4000/graphql',
  credential: process.env.TICKETQL_CREDENTIAL,
  after: process.argv[2],
  webSocketImpl: WebSocket,
  onEvent: (event) => console.log(JSON.stringify(event)),
  onError: (error) => {
    console.error('ticketql:', error?.reason ?? error?.message ?? JSON.stringify(error));
    process.exitCode = 1;
    stop();
  },
});
process.once('SIGINT', stop);
process.once('SIGTERM', stop);
