/* The evidence file upload control (web chat and follow-up page). The chosen file's bytes are sent as the raw
   request body (no multipart form), with the reporter's metadata choice in a header. The result, good or bad, is
   announced in the control's status line (role=status) and, in the chat, added to the conversation.
   Every text from the server is inserted with textContent, never as HTML. */
(function () {
  "use strict";

  var form = document.getElementById("bestand-formulier");
  if (!form || !window.fetch) {
    return;
  }
  var picker = document.getElementById("bestand");
  var strip = document.getElementById("metadata-verwijderen");
  var button = document.getElementById("bestand-versturen");
  var status = document.getElementById("bestand-status");
  var url = form.getAttribute("data-url");
  var inChat = form.getAttribute("data-kind") === "chat";
  var maxBytes = parseInt(form.getAttribute("data-max-bytes"), 10) || 0;
  var busy = false;
  var TEXTS = {
    none: "Kies eerst een bestand.",
    busy: "Je bestand wordt verstuurd…",
    tooBig: form.getAttribute("data-too-big"),
    failed: "Het versturen van je bestand is onderbroken. Van dit bestand is niets bewaard; probeer het opnieuw.",
    expired: "Deze pagina is verlopen. Herlaad de pagina en probeer het opnieuw."
  };

  function token() {
    return inChat && window.IntegrityChat ? window.IntegrityChat.token() : form.getAttribute("data-token");
  }

  function setToken(value) {
    if (inChat && window.IntegrityChat) {
      window.IntegrityChat.setToken(value);
    } else {
      form.setAttribute("data-token", value);
    }
  }

  function announce(text, isError) {
    status.textContent = text;
    status.classList.toggle("is-error", !!isError);
    if (isError) {
      picker.setAttribute("aria-invalid", "true");
    } else {
      picker.removeAttribute("aria-invalid");
    }
    if (inChat && window.IntegrityChat) {
      window.IntegrityChat.addMessage(isError ? "error" : "bot", text);
    }
  }

  function setBusy(value) {
    busy = value;
    button.setAttribute("aria-disabled", value ? "true" : "false");
    form.classList.toggle("is-busy", value);
  }

  form.addEventListener("submit", function (event) {
    event.preventDefault();
    if (busy) {
      return;
    }
    var file = picker.files && picker.files[0];
    if (!file) {
      announce(TEXTS.none, true);
      picker.focus();
      return;
    }
    if (maxBytes && file.size > maxBytes) {
      announce(TEXTS.tooBig, true);
      picker.focus();
      return;
    }
    var headers = {
      "Content-Type": "application/octet-stream",
      "X-CSRF-Token": token(),
      "X-Metadata": strip && !strip.checked ? "behouden" : "verwijderen"
    };
    if (inChat && window.IntegrityChat) {
      headers["X-Chat-Session"] = window.IntegrityChat.session;
    } else {
      headers["X-Toegang"] = form.getAttribute("data-access") || "";
    }
    if (inChat && window.IntegrityChat) {
      window.IntegrityChat.addMessage("user", "Bestand: " + file.name);
    }
    setBusy(true);
    status.textContent = TEXTS.busy;
    var code = 0;
    fetch(url, {method: "POST", headers: headers, body: file, credentials: "omit", cache: "no-store"})
      .then(function (response) {
        code = response.status;
        return response.json().catch(function () { return null; });
      }).then(function (data) {
        if (data && data.token) {
          setToken(data.token);
        }
        if (code === 200 && data && data.message) {
          announce(data.message, false);
          picker.value = "";
        } else {
          announce(data && data.error ? data.error : (code === 403 ? TEXTS.expired : TEXTS.failed), true);
        }
      }).catch(function () {
        announce(TEXTS.failed, true);
      }).then(function () {
        setBusy(false);
      });
  });
}());
