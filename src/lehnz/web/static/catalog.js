// The catalog page's upload: the same form, sent with XMLHttpRequest so a <progress> can
// follow the upload (fetch reports no upload progress), and the import report drawn from the
// JSON answer. Without this script the form posts as usual and the page comes back with the
// report. Every text from the server goes in through textContent, never as HTML.
(function () {
  'use strict';

  var form = document.getElementById('upload-form');
  var progress = document.getElementById('upload-progress');
  var status = document.getElementById('upload-status');
  var reportBox = document.getElementById('upload-report');
  if (!form || !progress || !reportBox || !window.FormData || !window.XMLHttpRequest) return;

  function element(tag, text, className) {
    var node = document.createElement(tag);
    if (text !== undefined && text !== null) node.textContent = String(text);
    if (className) node.className = className;
    return node;
  }

  function summaryRow(list, term, value, field) {
    var row = element('div');
    row.appendChild(element('dt', term));
    var dd = element('dd', value);
    if (field) dd.setAttribute('data-field', field);
    row.appendChild(dd);
    list.appendChild(row);
  }

  function showReport(report, refused) {
    reportBox.textContent = '';
    reportBox.appendChild(element('h3', 'Import report')).id = 'upload-report-title';
    if (refused) {
      reportBox.appendChild(element('p',
        'Nothing was stored: strict mode refuses the whole upload on any error.', 'error'));
    } else {
      reportBox.appendChild(element('p',
        report.imported + ' ' + report.kind + ' imported, ' + report.rejected + ' rejected',
        'report-message'));
    }
    var list = element('dl', null, 'report-summary');
    summaryRow(list, 'Kind', report.kind);
    summaryRow(list, 'Format', report.format);
    summaryRow(list, 'Rows', report.rows, 'rows');
    summaryRow(list, 'Imported', report.imported, 'imported');
    if (report.updated !== undefined) summaryRow(list, 'Updated', report.updated, 'updated');
    if (report.duplicates !== undefined) {
      summaryRow(list, 'Duplicates', report.duplicates, 'duplicates');
    }
    summaryRow(list, 'Rejected', report.rejected, 'rejected');
    reportBox.appendChild(list);
    if (!report.errors || !report.errors.length) return;
    var wrap = element('div', null, 'table-wrap');
    var table = element('table', null, 'rejections');
    var caption = 'Rejected rows';
    if (report.errors_truncated) {
      caption += ' (the first ' + report.errors.length + ' of ' + report.rejected + ')';
    }
    table.appendChild(element('caption', caption));
    var head = table.appendChild(element('thead')).appendChild(element('tr'));
    ['Line', 'Reason'].forEach(function (name) {
      head.appendChild(element('th', name)).setAttribute('scope', 'col');
    });
    var body = table.appendChild(element('tbody'));
    report.errors.forEach(function (rejection) {
      var row = body.appendChild(element('tr'));
      row.appendChild(element('td', rejection.line, 'num'));
      row.appendChild(element('td', rejection.reason));
    });
    wrap.appendChild(table);
    reportBox.appendChild(wrap);
  }

  function showError(message) {
    reportBox.textContent = '';
    var p = element('p', message, 'error');
    p.setAttribute('role', 'alert');
    reportBox.appendChild(p);
  }

  function finish(button) {
    button.disabled = false;
    form.removeAttribute('aria-busy');
  }

  form.addEventListener('submit', function (event) {
    event.preventDefault();
    var button = form.querySelector('button[type="submit"]');
    var data = new FormData(form);
    var xhr = new XMLHttpRequest();
    xhr.open('POST', form.getAttribute('action'));
    xhr.setRequestHeader('Accept', 'application/json');
    xhr.setRequestHeader('X-CSRF-Token', data.get('csrf_token') || (window.lehnz && window.lehnz.csrfToken) || '');
    xhr.responseType = 'json';

    progress.hidden = false;
    progress.max = 100;
    progress.value = 0;
    status.textContent = 'Uploading…';
    button.disabled = true;
    form.setAttribute('aria-busy', 'true');

    xhr.upload.addEventListener('progress', function (e) {
      if (!e.lengthComputable) return;
      progress.value = Math.round((e.loaded / e.total) * 100);
      status.textContent = 'Uploading… ' + progress.value + ' %';
    });
    xhr.upload.addEventListener('load', function () {
      progress.removeAttribute('value'); // indeterminate while the server imports
      status.textContent = 'Uploaded; importing…';
    });
    xhr.addEventListener('load', function () {
      finish(button);
      progress.max = 100;
      progress.value = 100;
      var payload = xhr.response;
      if (!payload || typeof payload !== 'object') {
        status.textContent = '';
        showError('The server answered ' + xhr.status + ' without a report.');
        return;
      }
      if (payload.success) {
        status.textContent = payload.message || 'Imported.';
        showReport(payload.data, false);
        return;
      }
      status.textContent = '';
      if (payload.data && payload.data.kind) {
        showReport(payload.data, true);
        var alert = element('p', payload.message, 'error');
        alert.setAttribute('role', 'alert');
        reportBox.insertBefore(alert, reportBox.firstChild);
      } else {
        showError(payload.message || 'The upload failed (' + xhr.status + ').');
      }
    });
    xhr.addEventListener('error', function () {
      finish(button);
      progress.hidden = true;
      status.textContent = '';
      showError('The upload did not reach the server: check the connection and try again.');
    });
    xhr.send(data);
  });
})();
