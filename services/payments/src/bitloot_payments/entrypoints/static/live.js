// The order page, live: follows fulfillment's WebSocket (/ws/orders/{order_id}) and
// swaps the status block for the <template> of each status it hears. The page is whole
// without this script; it only saves the customer a reload.
(function () {
  "use strict";
  var block = document.getElementById("status");
  var token = new URLSearchParams(window.location.search).get("token");
  if (!block || !token || !("WebSocket" in window)) {
    return;
  }
  var steps = document.getElementById("steps");
  var live = document.getElementById("live");
  var preorder = block.getAttribute("data-status") === "preorder";
  var base = block.getAttribute("data-live") ||
    (window.location.protocol === "https:" ? "wss://" : "ws://") + window.location.host;
  var url = base + "/ws/orders/" + encodeURIComponent(block.getAttribute("data-order")) +
    "?token=" + encodeURIComponent(token);
  var wait = 1000;

  // What a status frame says, in the page's statuses: "delivering" told more precisely
  // when the order is a preorder or late.
  function statusOf(frame) {
    var status = frame.customer_status;
    if (status === "delivering" && frame.delay) {
      return frame.delay.is_preorder ? "preorder" : "delayed";
    }
    if (status === "delivering" && preorder) {
      return "preorder";
    }
    return status;
  }

  function show(status) {
    var current = block.getAttribute("data-status");
    var words = document.getElementById("status-" + status);
    // Fulfillment knows nothing of an order before its payment: never move back to
    // "awaiting payment" from what this page already knows.
    if (!words || status === current || status === "awaiting_payment") {
      return;
    }
    block.replaceChildren(words.content.cloneNode(true));
    block.setAttribute("data-status", status);
    block.setAttribute("data-tone", words.getAttribute("data-tone"));
    var stage = Number(words.getAttribute("data-stage"));
    block.setAttribute("data-stage", String(stage));
    if (steps) {
      steps.setAttribute("data-stage", String(stage));
      steps.querySelectorAll("li").forEach(function (step) {
        var at = Number(step.getAttribute("data-step"));
        step.classList.toggle("reached", at <= stage);
        step.classList.toggle("current", at === stage);
        if (at === stage) {
          step.setAttribute("aria-current", "step");
        } else {
          step.removeAttribute("aria-current");
        }
      });
    }
  }

  function connect() {
    var socket = new WebSocket(url);
    socket.onopen = function () {
      wait = 1000;
      if (live) { live.hidden = false; }
    };
    socket.onmessage = function (event) {
      var frame;
      try {
        frame = JSON.parse(event.data);
      } catch (ignored) {
        return;
      }
      if (frame.type === "status") {
        show(statusOf(frame));
      }
    };
    socket.onclose = function (event) {
      if (live) { live.hidden = true; }
      // 4401/4403: the token does not open the order; trying again would not help.
      if (event.code !== 4401 && event.code !== 4403) {
        window.setTimeout(connect, wait);
        wait = Math.min(wait * 2, 30000);
      }
    };
  }

  connect();
}());
