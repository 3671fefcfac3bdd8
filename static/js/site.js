// Site behaviour that HTMX does not cover: the enrollment dialog, copying
// backup codes, and blocking double submits. No inline script anywhere, so a
// strict Content-Security-Policy holds.
(function () {
  "use strict";

  let opener = null;

  function focusFirstField(root) {
    const target = root.querySelector("[autofocus], input:not([type=hidden]), button, a[href]");
    if (target) target.focus();
  }

  function closeDialog(dialog) {
    if (dialog.open) dialog.close();
  }

  document.addEventListener("htmx:beforeRequest", function (event) {
    const source = event.detail.elt;
    if (source && source.closest && !source.closest("dialog")) opener = source;
  });

  document.addEventListener("htmx:afterSwap", function (event) {
    const target = event.detail.target;
    if (target.id === "modal-root") {
      const dialog = target.querySelector("dialog");
      if (!dialog) return;
      dialog.addEventListener("close", function () {
        dialog.remove();
        if (opener && document.body.contains(opener)) opener.focus();
      });
      dialog.showModal();
      focusFirstField(dialog);
    } else if (target.closest && target.closest("dialog")) {
      focusFirstField(target.closest("dialog"));
    } else if (event.detail.elt && event.detail.elt.id === "modal-step") {
      const dialog = document.querySelector("#mfa-dialog");
      if (dialog) focusFirstField(dialog);
    }
  });

  document.addEventListener("click", function (event) {
    const closer = event.target.closest("[data-close-dialog]");
    if (closer) {
      closeDialog(closer.closest("dialog"));
      return;
    }

    const copier = event.target.closest("[data-copy-target]");
    if (copier) {
      const source = document.getElementById(copier.dataset.copyTarget);
      const text = Array.from(source.querySelectorAll("code"))
        .map(function (node) { return node.textContent; })
        .join("\n");
      navigator.clipboard.writeText(text).then(function () {
        copier.textContent = "Copied";
      }, function () {
        copier.textContent = "Copy failed: select the codes instead";
      });
    }
  });

  // A plain form submits once: the second click of a double click does nothing.
  document.addEventListener("submit", function (event) {
    const form = event.target;
    if (form.hasAttribute("hx-post")) return;
    if (form.dataset.submitted === "true") {
      event.preventDefault();
      return;
    }
    form.dataset.submitted = "true";
    form.querySelectorAll("button[type=submit]").forEach(function (button) {
      button.setAttribute("aria-disabled", "true");
      button.classList.add("is-busy");
    });
  });

  // Pages restored from the back-forward cache must be submittable again.
  window.addEventListener("pageshow", function () {
    document.querySelectorAll("form[data-submitted]").forEach(function (form) {
      delete form.dataset.submitted;
      form.querySelectorAll(".is-busy").forEach(function (button) {
        button.classList.remove("is-busy");
        button.removeAttribute("aria-disabled");
      });
    });
  });
})();
