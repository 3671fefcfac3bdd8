// Site behaviour that HTMX does not cover: the enrollment dialog, copying
// backup codes, and showing progress while blocking double submits. No inline
// script anywhere, so a strict Content-Security-Policy holds.
(function () {
  "use strict";

  let opener = null;

  // Where focus goes when a dialog step appears: the field to type in, or else
  // the step's title, so a screen reader reads the new step from its start.
  function focusStep(dialog) {
    const target = dialog.querySelector("[autofocus]") || dialog.querySelector("#modal-title");
    if (target) target.focus();
  }

  function openDialog(dialog) {
    dialog.addEventListener("close", function () {
      dialog.remove();
      if (opener && document.body.contains(opener)) opener.focus();
    });
    dialog.showModal();
    focusStep(dialog);
  }

  document.addEventListener("htmx:beforeRequest", function (event) {
    const source = event.detail.elt;
    if (source && source.closest && !source.closest("dialog")) opener = source;
  });

  document.addEventListener("htmx:afterSettle", function (event) {
    const fresh = document.querySelector("#modal-root > dialog:not([open])");
    if (fresh) {
      openDialog(fresh);
      return;
    }
    // A step swapped inside an open dialog took the focused control with it.
    const dialog = document.querySelector("dialog[open]");
    if (dialog && !dialog.contains(document.activeElement)) focusStep(dialog);
  });

  document.addEventListener("click", function (event) {
    const closer = event.target.closest("[data-close-dialog]");
    if (closer && closer.closest("dialog")) {
      event.preventDefault();
      closer.closest("dialog").close();
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

  // Progress and double submits. While a request runs, the control that sent
  // it is disabled (a link, which cannot be, is marked aria-disabled) and shows
  // a spinner; a second click or Enter is dropped, not queued behind the first.
  function controlsOf(element) {
    if (element.tagName === "FORM") {
      return Array.from(element.querySelectorAll("button:not([type=button])"));
    }
    return [element];
  }

  function setBusy(element, busy) {
    element.classList.toggle("is-busy", busy);
    controlsOf(element).forEach(function (control) {
      control.classList.toggle("is-busy", busy);
      if (busy) {
        control.setAttribute("aria-disabled", "true");
        if (control.tagName === "BUTTON") control.disabled = true;
      } else {
        control.removeAttribute("aria-disabled");
        if (control.tagName === "BUTTON") control.disabled = false;
      }
    });
  }

  document.addEventListener("htmx:confirm", function (event) {
    if (event.detail.elt.classList.contains("is-busy")) event.preventDefault();
  });

  document.addEventListener("htmx:beforeSend", function (event) {
    setBusy(event.detail.elt, true);
  });

  document.addEventListener("htmx:afterRequest", function (event) {
    // A redirect leaves the page: the control stays busy until it has gone.
    const xhr = event.detail.xhr;
    if (xhr && xhr.getResponseHeader("HX-Redirect")) return;
    setBusy(event.detail.elt, false);
  });

  // A plain form submits once: the second click of a double click does nothing.
  document.addEventListener("submit", function (event) {
    const form = event.target;
    if (form.hasAttribute("hx-post")) return;
    if (form.classList.contains("is-busy")) {
      event.preventDefault();
      return;
    }
    // Disabling the button now would drop it from the form data: wait a tick.
    window.setTimeout(function () { setBusy(form, true); }, 0);
    form.classList.add("is-busy");
  });

  // Other scripts (a security-key prompt, say) mark their button busy the same way.
  window.mfasite = { setBusy: setBusy };

  // Pages restored from the back-forward cache must be usable again.
  window.addEventListener("pageshow", function () {
    document.querySelectorAll("form.is-busy").forEach(function (form) {
      setBusy(form, false);
    });
  });
})();
