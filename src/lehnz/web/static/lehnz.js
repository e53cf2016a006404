// The dashboard's shared behaviour: copy buttons, confirmations, and requests that carry the
// page's CSRF token. Pages work without it; it only adds convenience. No inline scripts: the
// Content-Security-Policy allows lehnz's own files only.
(function () {
  'use strict';

  var meta = document.querySelector('meta[name="csrf-token"]');
  var csrfToken = meta ? meta.getAttribute('content') : '';

  function request(method, url, body) {
    var headers = { 'X-CSRF-Token': csrfToken, Accept: 'application/json' };
    var init = { method: method, headers: headers, credentials: 'same-origin' };
    if (body instanceof FormData) {
      init.body = body;
    } else if (body !== undefined) {
      headers['Content-Type'] = 'application/json';
      init.body = JSON.stringify(body);
    }
    return fetch(url, init).then(function (response) {
      return response.json().then(function (payload) {
        if (!response.ok) {
          var error = new Error(payload.message || response.statusText);
          error.status = response.status;
          error.payload = payload;
          throw error;
        }
        return payload;
      });
    });
  }

  function copy(button) {
    var target = document.querySelector(button.getAttribute('data-copy'));
    if (!target) return;
    var text = 'value' in target && target.value !== undefined ? target.value : target.textContent;
    var done = function () {
      var label = button.firstChild.nodeValue;
      button.firstChild.nodeValue = 'Copied';
      setTimeout(function () { button.firstChild.nodeValue = label; }, 1500);
    };
    if (navigator.clipboard && window.isSecureContext) {
      navigator.clipboard.writeText(text).then(done, function () { fallbackCopy(target, done); });
    } else {
      fallbackCopy(target, done);
    }
  }

  function fallbackCopy(target, done) {
    var range = document.createRange();
    range.selectNodeContents(target);
    if (target.select) target.select();
    else {
      var selection = window.getSelection();
      selection.removeAllRanges();
      selection.addRange(range);
    }
    try { document.execCommand('copy'); done(); } catch (e) { /* left selected for Ctrl+C */ }
  }

  document.addEventListener('click', function (event) {
    var button = event.target.closest('[data-copy]');
    if (button) copy(button);
  });

  document.addEventListener('submit', function (event) {
    var form = event.target.closest('form[data-confirm]');
    if (form && !window.confirm(form.getAttribute('data-confirm'))) event.preventDefault();
  });

  window.lehnz = {
    csrfToken: csrfToken,
    getJSON: function (url) { return request('GET', url); },
    postJSON: function (url, body) { return request('POST', url, body === undefined ? {} : body); },
    postForm: function (url, formData) { return request('POST', url, formData); },
  };
})();
