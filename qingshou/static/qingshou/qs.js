/* qingshou: keyboard shortcuts and the small bits of page behaviour. No framework beyond htmx. */
(function () {
  "use strict";

  function typing(el) {
    if (!el) return false;
    var tag = el.tagName;
    return tag === "INPUT" || tag === "TEXTAREA" || tag === "SELECT" || el.isContentEditable;
  }

  document.addEventListener("keydown", function (ev) {
    // Ctrl+Enter (or Cmd+Enter) submits the form being edited.
    if (ev.key === "Enter" && (ev.ctrlKey || ev.metaKey)) {
      var form = ev.target && ev.target.form;
      if (!form && ev.target && ev.target.closest) form = ev.target.closest("form");
      if (!form) form = document.getElementById("log-form");
      if (form) { ev.preventDefault(); if (form.requestSubmit) form.requestSubmit(); else form.submit(); }
      return;
    }
    if (ev.ctrlKey || ev.metaKey || ev.altKey || typing(ev.target)) return;
    if (ev.key === "n") {
      var next = document.getElementById("get-next-form");
      if (next) { ev.preventDefault(); next.submit(); }
    } else if (ev.key === "/") {
      var search = document.getElementById("qs-search");
      if (search) { ev.preventDefault(); search.focus(); search.select(); }
    }
  });

  // Promise fields appear only for outcomes that open a promise (承诺还款).
  function syncPromise() {
    var sel = document.getElementById("id_outcome");
    var box = document.getElementById("promise-fields");
    if (!sel || !box) return;
    var opt = sel.options[sel.selectedIndex];
    var open = !!(opt && opt.getAttribute("data-opens-promise"));
    box.hidden = !open;
    box.querySelectorAll("input").forEach(function (i) { i.disabled = !open; });
  }

  // Bulk selection on the team page.
  function syncSelection() {
    var n = document.querySelectorAll("input.row-check:checked").length;
    var out = document.getElementById("sel-count");
    if (out) out.textContent = n ? (document.documentElement.lang === "en" ? n + " selected" : "已选 " + n + " 件") : "";
  }

  document.addEventListener("change", function (ev) {
    var t = ev.target;
    if (t.id === "id_outcome") syncPromise();
    if (t.classList && t.classList.contains("check-all")) {
      document.querySelectorAll("input.row-check").forEach(function (c) { c.checked = t.checked; });
    }
    if (t.classList && (t.classList.contains("row-check") || t.classList.contains("check-all"))) syncSelection();
  });

  // The call button of the contact pre-check: it takes the collector to the outcome field to log a
  // call dialled by hand (click-to-call through the dialer is the "拨打" button beside each number). It is disabled (server-side) while the compliance check refuses.
  document.addEventListener("click", function (ev) {
    var btn = ev.target && ev.target.closest ? ev.target.closest("#call-btn") : null;
    if (!btn || btn.disabled) return;
    ev.preventDefault();
    var outcome = document.getElementById("id_outcome");
    if (outcome) { outcome.scrollIntoView({block: "center"}); outcome.focus(); }
  });

  document.addEventListener("DOMContentLoaded", function () {
    syncPromise();
    syncSelection();
  });
})();
