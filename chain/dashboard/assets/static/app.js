// powmine dashboard: one server-sent-event stream per page. Each
// "overview" event fills the elements marked data-k, and refetches the
// fragments marked data-frag (the workers table at every event, the
// block tree when it changed). Written for this page; no library.
"use strict";
(function () {
  var live = document.getElementById("live");
  var lastTree = null;
  function refresh(el) {
    fetch(el.dataset.src, { cache: "no-store" })
      .then(function (r) { return r.ok ? r.text() : Promise.reject(r.status); })
      .then(function (t) { el.innerHTML = t; scrollEnd(el); })
      .catch(function () {});
  }
  // The tree grows to the right: keep its newest blocks in view.
  function scrollEnd(el) {
    el.querySelectorAll(".scroll").forEach(function (s) { s.scrollLeft = s.scrollWidth; });
  }
  document.querySelectorAll("[data-frag]").forEach(scrollEnd);
  var es = new EventSource("/events");
  es.addEventListener("overview", function (e) {
    var o = JSON.parse(e.data);
    document.querySelectorAll("[data-k]").forEach(function (el) {
      var v = o.display[el.dataset.k];
      if (v !== undefined && el.textContent !== v) { el.textContent = v; }
    });
    if (live) { live.textContent = "live"; live.className = "live on"; }
    document.querySelectorAll("[data-frag]").forEach(function (el) {
      if (el.dataset.frag === "tree" && (lastTree === null || o.tree_version === lastTree)) { return; }
      refresh(el);
    });
    lastTree = o.tree_version;
  });
  es.onerror = function () {
    if (live) { live.textContent = "reconnecting"; live.className = "live off"; }
  };
})();
