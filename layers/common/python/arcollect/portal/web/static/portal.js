/* Progressive enhancement only: every page works without this file. */
(function () {
  "use strict";
  document.documentElement.classList.add("js");

  function show(selector) {
    document.querySelectorAll(selector).forEach(function (el) { el.hidden = false; });
  }
  function hide(selector) {
    document.querySelectorAll(selector).forEach(function (el) { el.hidden = true; });
  }

  document.addEventListener("DOMContentLoaded", function () {
    show(".js-only");
    show(".js-print");
    hide(".no-js-only");

    document.querySelectorAll("[data-print]").forEach(function (button) {
      button.addEventListener("click", function () { window.print(); });
    });

    // Dispute form: declare the chosen file (name, type, size) so the server can presign its upload.
    var picker = document.querySelector("[data-attachment-picker]");
    if (picker) {
      picker.addEventListener("change", function () {
        var file = picker.files && picker.files[0];
        document.querySelector("[data-attachment-name]").value = file ? file.name : "";
        document.querySelector("[data-attachment-type]").value = file ? (file.type || "application/octet-stream") : "";
        document.querySelector("[data-attachment-size]").value = file ? String(file.size) : "";
      });
    }

    // Dispute receipt: POST the file to the presigned URL (its fields first, the file last, as S3
    // wants), then submit the form to the portal, which checks the file and links it to the dispute.
    document.querySelectorAll("form.upload-form").forEach(function (form) {
      var status = form.querySelector(".upload-status");
      var failed = "The upload did not work. Reply to any of our emails with the document attached instead.";
      form.addEventListener("submit", function (event) {
        event.preventDefault();
        var input = form.querySelector("input[type=file]");
        var file = input.files && input.files[0];
        if (!file) { status.textContent = "Choose the file first."; input.focus(); return; }
        var expectedSize = form.getAttribute("data-expected-size");
        if (expectedSize && String(file.size) !== expectedSize) {
          status.textContent = "This is not the file you chose before (" + form.getAttribute("data-expected-name") + "). Choose that file.";
          return;
        }
        var fields = {};
        try { fields = JSON.parse(form.getAttribute("data-upload-fields") || "{}"); } catch (e) { fields = {}; }
        var body = new FormData();
        Object.keys(fields).forEach(function (name) { body.append(name, fields[name]); });
        body.append("file", file);
        status.textContent = "Uploading…";
        fetch(form.getAttribute("data-upload-url"), { method: "POST", body: body, credentials: "omit", referrerPolicy: "no-referrer" })
          .then(function (response) {
            if (!response.ok) { status.textContent = failed; return; }
            status.textContent = "Uploaded. Checking the file…";
            form.submit();  // to the portal: the file input has no name, so only the CSRF token goes
          })
          .catch(function () { status.textContent = failed; });
      });
    });
  });
})();
