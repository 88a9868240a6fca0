// Shuxin patient page: live deadline countdowns and polling a payment until it settles.
// Works without it: every figure is rendered on the server, and a Refresh link is always there.
(function () {
  "use strict";
  var body = document.body;
  var serverNow = Date.parse(body.getAttribute("data-now"));
  // The service's clock may differ from the phone's (the sandbox clock moves); count from it.
  var skew = isNaN(serverNow) ? 0 : serverNow - Date.now();
  var en = body.getAttribute("data-lang") === "en";

  function pad(n) { return (n < 10 ? "0" : "") + n; }

  function tick() {
    var nodes = document.querySelectorAll("[data-due]");
    var now = Date.now() + skew;
    for (var i = 0; i < nodes.length; i++) {
      var node = nodes[i];
      var left = Date.parse(node.getAttribute("data-due")) - now;
      if (isNaN(left)) { continue; }
      if (left <= 0) {
        node.textContent = "⚠ " + node.getAttribute("data-passed");
        node.classList.add("urgent");
        continue;
      }
      var s = Math.floor(left / 1000);
      var h = Math.floor(s / 3600);
      var m = Math.floor((s % 3600) / 60);
      var text = en
        ? node.getAttribute("data-left") + " " + h + " h " + pad(m) + " min " + pad(s % 60) + " s"
        : node.getAttribute("data-left") + " " + h + " 小时 " + pad(m) + " 分 " + pad(s % 60) + " 秒";
      node.textContent = text;
      node.classList.toggle("urgent", left < 2 * 3600 * 1000);
    }
  }

  function poll(node, tries) {
    if (tries > 120) { return; }
    fetch(node.getAttribute("data-poll"), { credentials: "same-origin", cache: "no-store" })
      .then(function (response) { return response.json(); })
      .then(function (data) {
        if (data.status && data.status !== "paying" && data.status !== "paying_late") {
          window.location.replace(window.location.pathname);
        } else {
          window.setTimeout(function () { poll(node, tries + 1); }, 1000);
        }
      })
      .catch(function () { window.setTimeout(function () { poll(node, tries + 1); }, 2000); });
  }

  // An error is at the top of the page: move the focus (and the view) to it.
  var error = document.getElementById("page-error");
  if (error) { error.focus(); }

  tick();
  window.setInterval(tick, 1000);
  var pending = document.querySelector("[data-poll]");
  if (pending) { window.setTimeout(function () { poll(pending, 0); }, 800); }
})();
