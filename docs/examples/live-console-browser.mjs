// docs/examples/live-console-browser.mjs: an agent console's feed in a web page with
// <ul id="events">. The cursor is kept in localStorage, so a reload, like a
// reconnect, shows each event once.
import { followTicketEvents } from './live-console.mjs';

const list = document.querySelector('#events');
const stop = followTicketEvents({
  url: 'ws://localhost:4000/graphql',
  credential: 'eyJ…', // the signed-in agent's token, from your login flow
  after: localStorage.getItem('ticketql:cursor') ?? undefined,
  onEvent(event) {
    localStorage.setItem('ticketql:cursor', event.cursor);
    const item = document.createElement('li');
    item.dataset.cursor = event.cursor;
    item.textContent = `${event.type} #${event.ticket?.number ?? '?'} ${event.ticket?.title ?? event.ticketId}`;
    list.append(item);
  },
});
addEventListener('pagehide', stop);
