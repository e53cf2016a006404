// Models: "Train now" without leaving the page. The form posts in the background, then the
// page polls /models/status every second until the new version serves (or training fails),
// and swaps in the fresh versions table. Without this script the form posts normally and the
// page it redirects to shows the same status.
(function () {
  'use strict';

  var form = document.getElementById('train-form');
  var status = document.getElementById('train-status');
  var progress = document.getElementById('train-progress');
  if (!form || !status || !window.lehnz) return;
  var button = form.querySelector('button[type="submit"]');
  var timer = null;

  function show(state) {
    status.textContent = state.text;
    status.setAttribute('data-state', state.state);
    status.classList.toggle('error', state.state === 'failed');
    if (progress) progress.hidden = state.state !== 'running';
    if (button) button.disabled = state.state === 'running';
  }

  function failed(message) {
    show({ state: 'failed', text: message });
  }

  function refreshTables() {
    fetch('/models', { credentials: 'same-origin', headers: { Accept: 'text/html' } })
      .then(function (response) { return response.ok ? response.text() : null; })
      .then(function (text) {
        if (!text) return;
        var fresh = new DOMParser().parseFromString(text, 'text/html');
        ['versions-section', 'version-detail'].forEach(function (id) {
          var now = document.getElementById(id);
          var next = fresh.getElementById(id);
          if (now && next) now.replaceWith(document.importNode(next, true));
        });
      })
      .catch(function () { /* the table stays as it was; a reload shows the new version */ });
  }

  function poll() {
    timer = null;
    window.lehnz.getJSON('/models/status').then(function (state) {
      show(state);
      if (state.state === 'running') timer = setTimeout(poll, 1000);
      else if (state.state === 'serving') refreshTables();
    }, function (error) {
      status.textContent = 'Could not read the training status (' + error.message + '); retrying…';
      timer = setTimeout(poll, 3000);
    });
  }

  form.addEventListener('submit', function (event) {
    event.preventDefault();
    if (button) button.disabled = true;
    window.lehnz.postForm(form.action, new FormData(form)).then(function (state) {
      show(state);
      if (timer === null) poll();
    }, function (error) {
      failed(error.message);
      if (button) button.disabled = false;
    });
  });

  if (status.getAttribute('data-state') === 'running') poll();
})();
