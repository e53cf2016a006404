// The playground's form: only the fields the chosen endpoint takes are shown, and the others
// are disabled so the shared URL carries just what was sent. Without this script every field
// shows, with a hint naming the endpoints that use it, and the server ignores the rest.
(function () {
  'use strict';

  var form = document.getElementById('playground-form');
  if (!form) return;
  var select = form.querySelector('select[name="endpoint"]');

  function apply() {
    var endpoint = select.value;
    form.querySelectorAll('[data-endpoints]').forEach(function (wrapper) {
      var used = wrapper.getAttribute('data-endpoints').split(' ').indexOf(endpoint) !== -1;
      wrapper.hidden = !used;
      wrapper.querySelectorAll('input, select, textarea').forEach(function (control) {
        control.disabled = !used;
      });
    });
  }

  select.addEventListener('change', apply);
  apply();
})();
