// docs/examples/live-console-browser.mjs: an agent console's feed in a web page with
// <ul id="events">. The cursor is kept in localStorage, so a reload, like a
// reconnect, shows each event once. A page that shows a ticket
// (<article id="ticket" data-ticket-id="tkt_…"> with a <textarea id="reply"> and a
// <p id="presence">) also says who else is on it, and that this agent is typing.
import { followTicketEvents, keepPresence } from './live-console.mjs';

const url = 'ws://localhost:4000/graphql';
const credential = 'eyJ…'; // the signed-in agent's token, from your login flow

const list = document.querySelector('#events');
const stop = followTicketEvents({
  url,
  credential,
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

const ticket = document.querySelector('#ticket');
if (ticket) {
  const reply = document.querySelector('#reply');
  const shown = document.querySelector('#presence');
  const presence = keepPresence({
    url,
    credential,
    ticketId: ticket.dataset.ticketId,
    onPresence(entries) {
      shown.textContent = entries.map((e) => `${e.name ?? 'An agent'} ${e.state.toLowerCase().replace('_', ' ')}`).join(', ');
    },
  });
  // Typing while keys are pressed, viewing again two seconds after the last one.
  let idle;
  reply.addEventListener('input', () => {
    presence.set('TYPING');
    clearTimeout(idle);
    idle = setTimeout(() => presence.set('VIEWING'), 2000);
  });
  addEventListener('pagehide', () => presence.stop());
}
