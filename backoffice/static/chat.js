/* Web chat of the integrity assistant. No cookies, no storage: the session id lives only in this script.
   Every text from the server is inserted with textContent, never as HTML. */
(function () {
  "use strict";

  var form = document.getElementById("chat-formulier");
  var input = document.getElementById("bericht");
  var sendButton = document.getElementById("versturen");
  var log = document.getElementById("gesprek");
  var busyLine = document.getElementById("bezig");
  if (!form || !input || !log || !window.fetch || !window.crypto || !window.crypto.getRandomValues) {
    return;
  }

  var BUSY_TEXT = "De assistent schrijft een antwoord…";
  var FALLBACK = {
    unavailable: form.getAttribute("data-unavailable"),
    expired: form.getAttribute("data-expired"),
    other: "Dat lukte niet. Probeer het opnieuw of herlaad de pagina."
  };
  var token = form.getAttribute("data-token");
  var session = newSessionId();
  var busy = false;

  function newSessionId() {
    var bytes = new Uint8Array(24);
    window.crypto.getRandomValues(bytes);
    var text = "";
    for (var i = 0; i < bytes.length; i++) {
      text += String.fromCharCode(bytes[i]);
    }
    return window.btoa(text).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
  }

  function scrollToEnd() {
    log.scrollTop = log.scrollHeight;
  }

  function addMessage(kind, text) {
    var item = document.createElement("div");
    item.className = "chat-message from-" + kind;
    var who = document.createElement("p");
    who.className = "chat-who";
    who.textContent = kind === "user" ? "Jij" : (kind === "error" ? "Melding" : "Assistent");
    var body = document.createElement("p");
    body.className = "chat-text";
    body.textContent = text;  /* line breaks are kept by white-space: pre-wrap */
    item.appendChild(who);
    item.appendChild(body);
    log.appendChild(item);
    scrollToEnd();
    return item;
  }

  function disableQuickReplies() {
    var old = log.querySelectorAll(".chat-quick-replies button");
    for (var i = 0; i < old.length; i++) {
      old[i].disabled = true;
    }
  }

  function addQuickReplies(item, buttons) {
    var group = document.createElement("div");
    group.className = "chat-quick-replies";
    group.setAttribute("role", "group");
    group.setAttribute("aria-label", "Snelle antwoorden");
    buttons.forEach(function (button) {
      var element = document.createElement("button");
      element.type = "button";
      element.textContent = button.title;
      element.addEventListener("click", function () {
        if (busy || element.disabled) {
          return;
        }
        element.classList.add("chosen");
        element.setAttribute("aria-pressed", "true");
        input.focus();  /* the button is disabled next; keep the keyboard focus in a useful place */
        send(button.payload, button.title, false);
      });
      group.appendChild(element);
    });
    item.appendChild(group);
    scrollToEnd();
  }

  function setBusy(value) {
    busy = value;
    busyLine.textContent = value ? BUSY_TEXT : "";
    /* No aria-busy on the log: some screen readers hide a busy region, and then never read the new answers. The
       log (role=log, aria-live=polite) announces each message as it is added; the status line says we wait. */
    sendButton.setAttribute("aria-disabled", value ? "true" : "false");
    form.classList.toggle("is-busy", value);
  }

  function showReplies(messages) {
    messages.forEach(function (message) {
      var item = addMessage("bot", message.text || "");
      if (message.buttons && message.buttons.length) {
        addQuickReplies(item, message.buttons);
      }
    });
  }

  function failure(status, data, typedText) {
    var text = data && typeof data.error === "string" ? data.error : null;
    if (!text) {
      text = status === 403 ? FALLBACK.expired : (status === 0 || status >= 500 ? FALLBACK.unavailable : FALLBACK.other);
    }
    addMessage("error", text);  /* announced by the log (an extra role=alert would make it read twice) */
    if (typedText && !input.value) {
      input.value = typedText;  /* give the text back, so it can be sent again */
    }
  }

  function send(text, shownText, typed) {
    disableQuickReplies();
    addMessage("user", shownText);
    setBusy(true);
    var status = 0;
    fetch("/chat/berichten", {
      method: "POST",
      headers: {"Content-Type": "application/json", "X-CSRF-Token": token},
      body: JSON.stringify({session: session, text: text}),
      credentials: "omit",
      cache: "no-store"
    }).then(function (response) {
      status = response.status;
      return response.json().catch(function () { return null; });
    }).then(function (data) {
      if (status === 200 && data && data.messages) {
        if (data.token) {
          token = data.token;
        }
        showReplies(data.messages);
      } else {
        failure(status, data, typed ? text : null);
      }
    }).catch(function () {
      failure(0, null, typed ? text : null);
    }).then(function () {
      setBusy(false);
    });
  }

  function submitTyped() {
    if (busy) {
      return;
    }
    var text = input.value.trim();
    if (!text) {
      input.focus();
      return;
    }
    input.value = "";
    send(text, text, true);
  }

  form.addEventListener("submit", function (event) {
    event.preventDefault();
    submitTyped();
  });

  input.addEventListener("keydown", function (event) {
    if (event.key === "Enter" && !event.shiftKey && !event.isComposing) {
      event.preventDefault();
      submitTyped();
    }
  });

  /* For the file upload control (evidence.js): the same session, the same rotating token, the same log. */
  window.IntegrityChat = {
    session: session,
    token: function () { return token; },
    setToken: function (value) { token = value; },
    addMessage: addMessage
  };
}());
