// The Events page, live: every 2 s ask /events/feed for the events after the newest row shown,
// put them on top of the table (at most 100 rows kept) and refresh the rate and lag cards.
// Paused while the tab is hidden. Event fields are whatever a store's clients sent: they are
// only ever set with textContent, never parsed as HTML.
(function () {
  'use strict';

  var table = document.getElementById('live-events');
  if (!table || !window.lehnz) return;
  var body = table.tBodies[0];
  var status = document.getElementById('live-status');
  var empty = document.getElementById('no-events');
  var feed = table.getAttribute('data-feed');
  var lastSeq = table.getAttribute('data-last-seq') || '0';
  var INTERVAL = 2000;
  var MAX_ROWS = 100;
  var timer = null;
  var stopped = false;
  var inFlight = false;

  function say(text) {
    if (status) status.textContent = text;
  }

  function cell(row, text, className) {
    var td = document.createElement('td');
    if (className) td.className = className;
    td.textContent = text === null || text === undefined ? '' : String(text);
    row.appendChild(td);
    return td;
  }

  function rowFor(event) {
    var row = document.createElement('tr');
    row.setAttribute('data-seq', String(event.seq));
    var td = document.createElement('td');
    var time = document.createElement('time');
    time.setAttribute('datetime', String(event.received_at));
    time.textContent = String(event.received);
    td.appendChild(time);
    row.appendChild(td);
    cell(row, event.event_name, 'event-name');
    cell(row, event.user_id, 'mono');
    cell(row, event.item_id, 'mono');
    cell(row, event.recommendation_id, 'mono');
    cell(row, event.value);
    return row;
  }

  function setCard(id, value, hint) {
    var card = document.getElementById(id);
    if (!card) return;
    var valueNode = card.querySelector('[data-field="value"]');
    var hintNode = card.querySelector('[data-field="hint"]');
    if (valueNode) valueNode.textContent = value;
    if (hintNode && hint !== undefined) hintNode.textContent = hint;
  }

  function apply(answer) {
    var events = answer.events || [];
    // Newest first: insert the oldest first, so the newest ends on top.
    for (var i = events.length - 1; i >= 0; i--) {
      if (body.querySelector('tr[data-seq="' + Number(events[i].seq) + '"]')) continue;
      body.insertBefore(rowFor(events[i]), body.firstChild);
    }
    while (body.rows.length > MAX_ROWS) body.deleteRow(body.rows.length - 1);
    if (empty && body.rows.length) empty.hidden = true;
    lastSeq = String(answer.last_seq);
    table.setAttribute('data-last-seq', lastSeq);
    if (answer.rate) {
      setCard('ingest-rate-minute', answer.rate.minute_text);
      setCard('ingest-rate-hour', answer.rate.hour_text, answer.rate.hour_hint);
    }
    if (answer.lag) setCard('pipeline-lag', answer.lag.text, answer.lag.hint);
    var added = events.length ? events.length + ' new. ' : '';
    say(added + 'Updating live (every 2 s); newest first, last ' + MAX_ROWS + ' kept.');
  }

  function poll() {
    timer = null;
    if (stopped || inFlight || document.hidden) return;
    inFlight = true;
    window.lehnz.getJSON(feed + '?after=' + encodeURIComponent(lastSeq)).then(function (answer) {
      inFlight = false;
      apply(answer);
      schedule();
    }, function (error) {
      inFlight = false;
      if (error.status === 401) {
        stopped = true;
        say('Live updates stopped: your session ended. Log in again to resume.');
        return;
      }
      say('Live updates interrupted (' + (error.message || 'network error') + '); retrying.');
      schedule(INTERVAL * 3);
    });
  }

  function schedule(delay) {
    if (timer === null && !stopped && !document.hidden) {
      timer = setTimeout(poll, delay === undefined ? INTERVAL : delay);
    }
  }

  document.addEventListener('visibilitychange', function () {
    if (document.hidden) {
      if (timer !== null) { clearTimeout(timer); timer = null; }
      say('Live updates paused while this tab is hidden.');
    } else {
      poll();
    }
  });

  say('Updating live (every 2 s); newest first, last ' + MAX_ROWS + ' kept.');
  schedule();
})();
