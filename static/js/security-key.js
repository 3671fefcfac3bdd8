// Security keys. A [data-security-key] block carries its settings as JSON
// (options from the server, where to post, messages). Its button runs the
// WebAuthn ceremony and posts the key's answer as JSON with the CSRF header.
// The server answers as it does HTMX: HX-Redirect for a new page, or HTML
// that replaces the step (a refusal comes back with fresh options).
(function () {
  "use strict";

  // --- base64url, for browsers without the JSON helpers of WebAuthn Level 3

  function toBytes(text) {
    const base64 = text.replace(/-/g, "+").replace(/_/g, "/");
    const padded = base64 + "=".repeat((4 - (base64.length % 4)) % 4);
    return Uint8Array.from(atob(padded), function (ch) { return ch.charCodeAt(0); });
  }

  function toText(buffer) {
    let binary = "";
    new Uint8Array(buffer).forEach(function (byte) { binary += String.fromCharCode(byte); });
    return btoa(binary).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
  }

  function withBinaryIds(list) {
    return (list || []).map(function (item) {
      return Object.assign({}, item, { id: toBytes(item.id) });
    });
  }

  function creationOptions(json) {
    if (typeof PublicKeyCredential.parseCreationOptionsFromJSON === "function") {
      return PublicKeyCredential.parseCreationOptionsFromJSON(json);
    }
    return Object.assign({}, json, {
      challenge: toBytes(json.challenge),
      user: Object.assign({}, json.user, { id: toBytes(json.user.id) }),
      excludeCredentials: withBinaryIds(json.excludeCredentials),
    });
  }

  function requestOptions(json) {
    if (typeof PublicKeyCredential.parseRequestOptionsFromJSON === "function") {
      return PublicKeyCredential.parseRequestOptionsFromJSON(json);
    }
    return Object.assign({}, json, {
      challenge: toBytes(json.challenge),
      allowCredentials: withBinaryIds(json.allowCredentials),
    });
  }

  function credentialJSON(credential) {
    if (typeof credential.toJSON === "function") return credential.toJSON();

    const response = credential.response;
    const json = {
      id: credential.id,
      rawId: toText(credential.rawId),
      type: credential.type,
      authenticatorAttachment: credential.authenticatorAttachment || null,
      clientExtensionResults: credential.getClientExtensionResults(),
      response: { clientDataJSON: toText(response.clientDataJSON) },
    };
    if (response.attestationObject) {
      json.response.attestationObject = toText(response.attestationObject);
      json.response.transports = response.getTransports ? response.getTransports() : [];
    } else {
      json.response.authenticatorData = toText(response.authenticatorData);
      json.response.signature = toText(response.signature);
      json.response.userHandle = response.userHandle ? toText(response.userHandle) : null;
    }
    return json;
  }

  // --- the ceremony

  function supported() {
    return Boolean(window.PublicKeyCredential && navigator.credentials);
  }

  function ceremony(config) {
    if (config.mode === "create") {
      return navigator.credentials.create({ publicKey: creationOptions(config.options) });
    }
    return navigator.credentials.get({ publicKey: requestOptions(config.options) });
  }

  function refusalMessage(config, error) {
    // NotAllowedError covers both a cancelled prompt and a timeout (WebAuthn
    // §5.1.3); InvalidStateError means the key already holds an excluded
    // credential, that is, it is registered already.
    if (error && error.name === "NotAllowedError") return config.messages.cancelled;
    if (error && error.name === "InvalidStateError") return config.messages.registered;
    return config.messages.failed;
  }

  function formFields(form) {
    const fields = {};
    if (!form) return fields;
    new FormData(form).forEach(function (value, name) {
      if (name !== "csrf_token" && typeof value === "string") fields[name] = value;
    });
    return fields;
  }

  function post(config, payload) {
    return fetch(config.url, {
      method: "POST",
      credentials: "same-origin",
      headers: {
        "Content-Type": "application/json",
        "X-CSRFToken": config.csrfToken,
        "HX-Request": "true",
        "HX-Target": config.target,
      },
      body: JSON.stringify(payload),
    });
  }

  async function showAnswer(config, response) {
    const redirect = response.headers.get("HX-Redirect");
    if (redirect) {
      window.location.assign(redirect);
      return;
    }
    const html = await response.text();
    const target = document.getElementById(config.target);
    htmx.swap(target, html, { swapStyle: "outerHTML" }, { eventInfo: { elt: target, target: target } });
  }

  function setBusy(button, busy) {
    button.classList.toggle("is-busy", busy);
    if (busy) button.setAttribute("aria-disabled", "true");
    else button.removeAttribute("aria-disabled");
  }

  async function run(block) {
    const config = JSON.parse(block.querySelector("[data-security-key-config]").textContent);
    const button = block.querySelector("[data-security-key-start]");
    const status = block.querySelector("[data-security-key-status]");
    const form = block.closest("form");

    if (button.getAttribute("aria-disabled") === "true") return;
    if (!supported()) {
      status.textContent = config.messages.unsupported;
      return;
    }
    if (form && !form.reportValidity()) return;

    status.textContent = "";
    setBusy(button, true);
    let credential;
    try {
      credential = await ceremony(config);
    } catch (error) {
      // Nothing was sent, so the same options serve another try.
      status.textContent = refusalMessage(config, error);
      setBusy(button, false);
      return;
    }

    try {
      const payload = Object.assign(formFields(form), { credential: credentialJSON(credential) });
      await showAnswer(config, await post(config, payload));
    } catch (error) {
      status.textContent = config.messages.failed;
      setBusy(button, false);
    }
  }

  document.addEventListener("click", function (event) {
    const button = event.target.closest("[data-security-key-start]");
    if (button) run(button.closest("[data-security-key]"));
  });

  // Enter in the nickname field starts the key, as the button does.
  document.addEventListener("submit", function (event) {
    const form = event.target;
    if (!form.hasAttribute("data-security-key-form")) return;
    event.preventDefault();
    event.stopImmediatePropagation();
    run(form.querySelector("[data-security-key]"));
  }, true);

  // Without WebAuthn, say so at once rather than after a click.
  document.addEventListener("DOMContentLoaded", markUnsupported);
  document.addEventListener("htmx:load", markUnsupported);

  function markUnsupported() {
    if (supported()) return;
    document.querySelectorAll("[data-security-key]").forEach(function (block) {
      const config = JSON.parse(block.querySelector("[data-security-key-config]").textContent);
      block.querySelector("[data-security-key-status]").textContent = config.messages.unsupported;
      block.querySelector("[data-security-key-start]").setAttribute("aria-disabled", "true");
    });
  }
})();
