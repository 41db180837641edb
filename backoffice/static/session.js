/* Back office: the idle logout made visible (WCAG 2.2.1).
   Before the logout (data-warn-seconds ahead) a dialog warns, with a one-click "Sessie verlengen" (a POST with the
   session's CSRF token); Escape extends too. The server is asked first: work in another tab may have extended the
   session. After the logout, a form that is sent does not go to the server (it would be refused and the text
   lost): static/drafts.js keeps its text, encrypted, and the browser goes to the login page. */
(function () {
  "use strict";

  var STATUS_URL = "/beheer/sessie";
  var dialog = document.getElementById("sessie-dialoog");
  var drafts = window.beheerDrafts;
  if (!dialog || !drafts || !window.fetch || typeof dialog.showModal !== "function") {
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

  var copyByHand = false;  /* this browser cannot keep the text safely (no WebCrypto or storage) */
  function keepAndLogin() {
    if (copyByHand) {
      drafts.toLogin();  /* second click: the user was told to copy the text first */
      return;
    }
    drafts.keep().then(drafts.toLogin, function () {
      copyByHand = true;
      text.textContent = "Je sessie is verlopen. Je tekst staat nog in dit venster, maar deze browser kan hem " +
        "niet veilig bewaren: kopieer hem eerst, meld je dan opnieuw aan en plak hem daarna terug.";
      extendForm.hidden = true;
      expiredButtons.hidden = false;
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
      drafts.drop();  /* logging out on purpose: keep nothing */
      if (expired) {
        event.preventDefault();
        drafts.toLogin();
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
