/* Back office: the idle logout made visible (WCAG 2.2.1), and typed text that survives it.
   - Before the logout (data-warn-seconds ahead) a dialog warns, with a one-click "Sessie verlengen" (a POST with
     the session's CSRF token). The server is asked first: work in another tab may have extended the session.
   - After the logout, a form that is sent does not go to the server (it would be refused and the text lost): its
     typed fields are encrypted (AES-GCM, with this staff member's key from the page) into this tab's
     sessionStorage, and the browser goes to the login page. After logging in again, the same page puts the text
     back, not sent, and removes the copy. Copies older than 30 minutes are dropped unread.
   Text is only ever inserted with textContent or as a field value. */
(function () {
  "use strict";

  var STASH = "beheer-concept";
  var MAX_AGE_MS = 30 * 60 * 1000;
  var STATUS_URL = "/beheer/sessie";
  var LOGIN_URL = "/beheer/aanmelden";
  var dialog = document.getElementById("sessie-dialoog");
  var subtle = window.crypto && window.crypto.subtle;

  function base64urlToBytes(text) {
    var plain = window.atob(text.replace(/-/g, "+").replace(/_/g, "/") + "===".slice((text.length + 3) % 4));
    var bytes = new Uint8Array(plain.length);
    for (var i = 0; i < plain.length; i++) {
      bytes[i] = plain.charCodeAt(i);
    }
    return bytes;
  }

  function bytesToBase64(bytes) {
    var text = "";
    for (var i = 0; i < bytes.length; i++) {
      text += String.fromCharCode(bytes[i]);
    }
    return window.btoa(text);
  }

  function importKey(usage) {
    return subtle.importKey("raw", base64urlToBytes(dialog.getAttribute("data-draft-key")), "AES-GCM", false,
                            [usage]);
  }

  function readStash() {
    try {
      return JSON.parse(window.sessionStorage.getItem(STASH) || "null");
    } catch (error) {
      return null;
    }
  }

  function dropStash() {
    try {
      window.sessionStorage.removeItem(STASH);
    } catch (error) { /* storage blocked: nothing was kept */ }
  }

  function isTextField(element) {
    var tag = element.tagName;
    var type = (element.getAttribute("type") || "text").toLowerCase();
    return !element.disabled && element.name && (tag === "TEXTAREA" || tag === "SELECT" ||
      (tag === "INPUT" && ["text", "search", "email", "number", "tel", "url"].indexOf(type) >= 0));
  }

  /* The typed fields of the page's forms (never passwords, hidden fields or CSRF tokens). */
  function typedForms() {
    var forms = [];
    var all = document.querySelectorAll("main form[method='post']");
    for (var i = 0; i < all.length; i++) {
      var fields = {};
      var typed = false;
      for (var j = 0; j < all[i].elements.length; j++) {
        var element = all[i].elements[j];
        if (isTextField(element)) {
          fields[element.name] = element.value;
          typed = typed || (element.tagName !== "SELECT" && element.value.trim() !== "");
        }
      }
      if (typed) {
        forms.push({action: all[i].getAttribute("action"), fields: fields});
      }
    }
    return forms;
  }

  /* Encrypts the typed text into sessionStorage; resolves true when there was text and it is kept. */
  function keepTypedText() {
    var forms = typedForms();
    if (!forms.length) {
      return Promise.resolve(false);
    }
    if (!subtle || !dialog || !window.sessionStorage) {
      return Promise.reject(new Error("no storage"));
    }
    var iv = window.crypto.getRandomValues(new Uint8Array(12));
    var plain = JSON.stringify({path: window.location.pathname, forms: forms, at: Date.now()});
    return importKey("encrypt").then(function (key) {
      return subtle.encrypt({name: "AES-GCM", iv: iv}, key, new TextEncoder().encode(plain));
    }).then(function (sealed) {
      window.sessionStorage.setItem(STASH, JSON.stringify({
        v: 1, at: Date.now(), iv: bytesToBase64(iv), data: bytesToBase64(new Uint8Array(sealed))}));
      return true;
    });
  }

  function toLogin() {
    window.location.assign(LOGIN_URL + "?volgende=" + encodeURIComponent(window.location.pathname).replace(/%2F/g, "/"));
  }

  function notice(text, before) {
    var box = document.createElement("div");
    box.className = "notice";
    box.id = "concept-terug";
    box.setAttribute("role", "status");
    var paragraph = document.createElement("p");
    paragraph.textContent = text;
    box.appendChild(paragraph);
    before.parentNode.insertBefore(box, before);
    return box;
  }

  function base64ToBytes(text) {
    var plain = window.atob(text);
    var bytes = new Uint8Array(plain.length);
    for (var i = 0; i < plain.length; i++) {
      bytes[i] = plain.charCodeAt(i);
    }
    return bytes;
  }

  function fillForm(kept) {
    var form = null;
    var forms = document.querySelectorAll("main form[method='post']");
    for (var i = 0; i < forms.length; i++) {
      if (forms[i].getAttribute("action") === kept.action) {
        form = forms[i];
      }
    }
    if (!form) {
      return null;
    }
    var first = null;
    Object.keys(kept.fields).forEach(function (name) {
      var element = form.elements.namedItem(name);
      if (element && isTextField(element)) {
        element.value = kept.fields[name];
        if (!first && element.tagName !== "SELECT" && kept.fields[name]) {
          first = element;
        }
      }
    });
    return first ? {form: form, field: first} : null;
  }

  /* After a new login: put the kept text back on the page it came from. */
  function restore() {
    var stash = readStash();
    if (!stash) {
      return;
    }
    if (Date.now() - stash.at > MAX_AGE_MS) {
      dropStash();
      return;
    }
    var main = document.querySelector("main");
    if (!dialog) {  /* the login page: say that the text is not lost */
      var heading = main && main.querySelector("h1");
      if (heading && heading.nextElementSibling) {
        notice("Je sessie was verlopen. Wat je typte, is niet verloren: na het aanmelden staat het weer in het " +
               "formulier, nog niet verstuurd.", heading.nextElementSibling);
      }
      return;
    }
    if (!subtle) {
      return;
    }
    importKey("decrypt").then(function (key) {
      return subtle.decrypt({name: "AES-GCM", iv: base64ToBytes(stash.iv)}, key, base64ToBytes(stash.data));
    }).then(function (plain) {
      var kept = JSON.parse(new TextDecoder().decode(plain));
      if (kept.path !== window.location.pathname) {
        return;  /* not there yet (e.g. unlocking the key first) */
      }
      var restored = kept.forms.map(fillForm).filter(Boolean);
      if (!restored.length) {
        return;  /* the form is not on the page yet (the case is still locked) */
      }
      dropStash();
      var box = notice("Je sessie was verlopen. Je tekst staat er weer, maar is nog niet verstuurd. Kijk hem na " +
                       "en verstuur hem opnieuw.", restored[0].form);
      var field = restored[0].field;
      var described = field.getAttribute("aria-describedby");
      field.setAttribute("aria-describedby", (described ? described + " " : "") + box.id);
      field.focus();
    }).catch(function () {
      dropStash();  /* another account's copy, or damaged: it cannot be opened here */
    });
  }

  restore();
  if (!dialog || !window.fetch || typeof dialog.showModal !== "function") {
    return;
  }

  /* --- the warning ------------------------------------------------------------------------------------------ */
  var warnSeconds = parseInt(dialog.getAttribute("data-warn-seconds"), 10);
  var idleMinutes = dialog.getAttribute("data-idle-minutes");
  var deadline = Date.now() + 1000 * parseInt(dialog.getAttribute("data-seconds-left"), 10);
  var title = document.getElementById("sessie-titel");
  var text = document.getElementById("sessie-tekst");
  var extendForm = document.getElementById("sessie-verlengen");
  var expiredButtons = document.getElementById("sessie-verlopen-knoppen");
  var statusLine = null;  /* a polite live region, made when the dialog first opens (before its text changes) */
  var expired = false;
  var timer = null;
  var returnFocus = null;

  function duration(seconds) {
    var minutes = Math.floor(seconds / 60);
    var rest = seconds % 60;
    var parts = [];
    if (minutes) {
      parts.push(minutes + (minutes === 1 ? " minuut" : " minuten"));
    }
    if (rest || !minutes) {
      parts.push(rest + (rest === 1 ? " seconde" : " seconden"));
    }
    return parts.join(" en ");
  }

  function secondsLeft() {
    return Math.max(0, Math.round((deadline - Date.now()) / 1000));
  }

  function open() {
    if (!statusLine) {
      statusLine = document.createElement("p");
      statusLine.id = "sessie-status";
      statusLine.className = "visually-hidden";
      statusLine.setAttribute("role", "status");
      document.body.appendChild(statusLine);
    }
    if (!dialog.open) {
      returnFocus = document.activeElement;
      dialog.showModal();
    }
  }

  function close(message) {
    if (dialog.open) {
      dialog.close();
    }
    if (returnFocus && returnFocus.focus) {
      returnFocus.focus();
    }
    if (statusLine) {
      statusLine.textContent = message;
    }
  }

  function showWarning() {
    title.textContent = "Je sessie verloopt bijna";
    text.textContent = "Je hebt een tijd niets gedaan. Over " + duration(secondsLeft()) +
      " word je afgemeld. Wat je typte, blijft staan.";
    extendForm.hidden = false;
    expiredButtons.hidden = true;
    open();
  }

  function showExpired() {
    expired = true;
    window.clearTimeout(timer);
    title.textContent = "Je sessie is verlopen";
    text.textContent = "Je bent afgemeld omdat je " + idleMinutes + " minuten niets deed. Wat je typte, staat " +
      "nog in dit venster. Meld je opnieuw aan: daarna staat je tekst weer in het formulier, nog niet verstuurd.";
    extendForm.hidden = true;
    expiredButtons.hidden = false;
    open();
    document.getElementById("sessie-aanmelden").focus();
  }

  function tick() {
    window.clearTimeout(timer);
    var left = secondsLeft();
    if (left > warnSeconds) {
      timer = window.setTimeout(check, (left - warnSeconds) * 1000);
    } else if (left > 0) {
      if (dialog.open && !expired) {
        text.textContent = "Je hebt een tijd niets gedaan. Over " + duration(left) +
          " word je afgemeld. Wat je typte, blijft staan.";
      }
      timer = window.setTimeout(left % 10 === 0 || left < 3 ? check : tick, 1000);
    } else {
      check();
    }
  }

  /* Ask the server how long the session has left (other tabs count as activity too). */
  function check() {
    window.clearTimeout(timer);
    fetch(STATUS_URL, {credentials: "same-origin", cache: "no-store", headers: {"Accept": "application/json"}})
      .then(function (response) { return response.json(); })
      .then(function (data) {
        var left = typeof data.seconds_left === "number" ? data.seconds_left : 0;
        deadline = Date.now() + left * 1000;
        if (left <= 0) {
          showExpired();
        } else if (left <= warnSeconds) {
          if (!dialog.open) {
            showWarning();
          }
          tick();
        } else {
          if (dialog.open) {
            close("Je sessie loopt nog: je was actief in een ander venster.");
          }
          tick();
        }
      })
      .catch(function () {
        timer = window.setTimeout(check, 5000);  /* the server is briefly unreachable: try again */
      });
  }

  function extend() {
    fetch(extendForm.getAttribute("action"), {
      method: "POST", credentials: "same-origin", cache: "no-store",
      headers: {"Accept": "application/json", "Content-Type": "application/x-www-form-urlencoded"},
      body: new URLSearchParams(new FormData(extendForm)).toString()
    }).then(function (response) {
      if (response.status === 401) {
        showExpired();
        return null;
      }
      return response.json();
    }).then(function (data) {
      if (!data) {
        return;
      }
      deadline = Date.now() + data.seconds_left * 1000;
      if (data.seconds_left <= warnSeconds) {
        text.textContent = "Je sessie kan niet langer verlengd worden: na 12 uur moet je altijd opnieuw " +
          "aanmelden. Bewaar wat je aan het doen bent.";
      } else {
        close("Je sessie is verlengd. Je wordt afgemeld na " + idleMinutes + " minuten zonder activiteit.");
      }
      tick();
    }).catch(function () {
      text.textContent = "Verlengen lukte niet: de server antwoordt niet. Probeer het zo opnieuw.";
    });
  }

  extendForm.addEventListener("submit", function (event) {
    event.preventDefault();
    extend();
  });
  dialog.addEventListener("cancel", function (event) {  /* Escape: extend while we can, else just close */
    if (!expired) {
      event.preventDefault();
      extend();
    }
  });

  function keepAndLogin() {
    keepTypedText().then(toLogin, function () {
      text.textContent = "Je sessie is verlopen. Je tekst staat nog in dit venster, maar deze browser kan hem " +
        "niet veilig bewaren: kopieer hem, meld je opnieuw aan en plak hem daarna terug.";
      open();
    });
  }
  document.getElementById("sessie-aanmelden").addEventListener("click", keepAndLogin);
  document.getElementById("sessie-sluiten").addEventListener("click", function () {
    close("Je bent afgemeld. Verstuur je een formulier, dan vragen we eerst om opnieuw aan te melden.");
  });

  /* A form sent after the logout: keep its text and log in first, instead of losing it. When this page's clock
     has run out, the server is asked first (work in another tab may have kept the session alive). */
  document.addEventListener("submit", function (event) {
    var form = event.target;
    if (form === extendForm || (form.getAttribute("method") || "").toLowerCase() !== "post") {
      return;
    }
    if (/\/beheer\/afmelden$/.test(form.getAttribute("action") || "")) {
      dropStash();  /* logging out on purpose: keep nothing */
      if (expired) {
        event.preventDefault();
        toLogin();
      }
      return;
    }
    if (form.getAttribute("data-session-checked")) {
      form.removeAttribute("data-session-checked");
      return;  /* checked just now: let the browser send it */
    }
    if (!expired && secondsLeft() > 0) {
      return;  /* the session runs, as far as this page knows: send at once */
    }
    event.preventDefault();
    var submitter = event.submitter || null;
    var send = function () {
      form.setAttribute("data-session-checked", "1");
      if (form.requestSubmit) {
        form.requestSubmit(submitter);
      } else {
        form.submit();
      }
    };
    if (expired) {
      keepAndLogin();
      return;
    }
    fetch(STATUS_URL, {credentials: "same-origin", cache: "no-store", headers: {"Accept": "application/json"}})
      .then(function (response) { return response.json(); })
      .then(function (data) {
        if (data.seconds_left > 0) {
          send();
        } else {
          expired = true;
          window.clearTimeout(timer);
          keepAndLogin();
        }
      }, send);
  });

  tick();
}());
