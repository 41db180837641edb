/* Back office: typed text that survives the idle logout (static/session.js decides when to keep it).
   keep(): the typed fields of the page's POST forms (never passwords, hidden fields or CSRF tokens) are encrypted
   (AES-GCM, with this staff member's key from the page, data-draft-key) into this tab's sessionStorage. On the
   next page load, the same page after a new login puts the text back, not sent, and removes the copy; the login
   page says that the text is not lost. Copies older than 30 minutes, or that this account's key cannot open, are
   dropped unread. Text is only ever inserted as a field value or with textContent. */
(function () {
  "use strict";

  var STASH = "beheer-concept";
  var MAX_AGE_MS = 30 * 60 * 1000;
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
        return;  /* not there yet (e.g. the recovery key page first) */
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

  window.beheerDrafts = {keep: keepTypedText, drop: dropStash, toLogin: toLogin};
  restore();
}());
