// The handset simulator's page: the live feed (server-sent events) and the forms posted
// without leaving the page. Bubbles arrive as server-rendered, escaped HTML, keyed by id.
(function () {
  "use strict";
  var phone = document.querySelector(".sim-phone");
  if (!phone) { return; }
  var chat = document.getElementById("sim-chat");
  var status = document.getElementById("sim-status");
  var composer = document.getElementById("sim-composer");
  var replyTo = document.getElementById("sim-reply-to");
  var replying = document.getElementById("sim-replying");
  var replyingText = document.getElementById("sim-replying-text");

  function token() {
    var field = document.getElementById("csrf");
    return field ? field.value : "";
  }

  function nearBottom() {
    return chat.scrollHeight - chat.scrollTop - chat.clientHeight < 240;
  }

  function upsert(data) {
    var existing = document.getElementById(data.id);
    if (existing && existing.getAttribute("data-fp") === data.fp) { return; }
    var holder = document.createElement("template");
    holder.innerHTML = data.html.trim();
    var fresh = holder.content.firstElementChild;
    if (!fresh) { return; }
    if (existing) {
      // Keep a picker or the reactions open across a redraw (a tick arriving).
      ["sim-picker", "sim-react"].forEach(function (name) {
        var before = existing.querySelector("details." + name);
        var after = fresh.querySelector("details." + name);
        if (before && after && before.open) { after.open = true; }
      });
      var focused = existing.contains(document.activeElement);
      existing.replaceWith(fresh);
      if (focused) {
        var target = fresh.querySelector("summary, button, a");
        if (target) { target.focus(); }
      }
    } else {
      var stick = nearBottom() || fresh.classList.contains("sim-mine");
      chat.appendChild(fresh);
      if (stick) {
        chat.scrollTop = chat.scrollHeight;
        // A picture grows the bubble once loaded: stay at the bottom.
        fresh.querySelectorAll("img").forEach(function (img) {
          img.addEventListener("load", function () { chat.scrollTop = chat.scrollHeight; });
        });
      }
    }
  }

  function showHandset(handset) {
    var name = document.getElementById("sim-name");
    if (name) { name.textContent = handset.name; }
    var presence = document.getElementById("sim-presence");
    if (presence) { presence.textContent = handset.online ? "online" : "offline"; }
    var identity = document.getElementById("sim-identity");
    if (identity) { identity.textContent = handset.identity_key_hash; }
    var form = document.getElementById("sim-settings-form");
    if (form && !form.contains(document.activeElement)) {
      ["reads", "online", "exists"].forEach(function (key) {
        var box = document.getElementById("sim-" + key);
        if (box) { box.checked = !!handset[key]; }
      });
    }
  }

  var feed = new EventSource(phone.getAttribute("data-events"));
  feed.addEventListener("bubble", function (event) { upsert(JSON.parse(event.data)); });
  feed.addEventListener("handset", function (event) { showHandset(JSON.parse(event.data)); });
  feed.addEventListener("open", function () { phone.setAttribute("data-live", "on"); });
  feed.addEventListener("error", function () { phone.setAttribute("data-live", "reconnecting"); });

  function setReply(id, text) {
    if (!replyTo) { return; }
    replyTo.value = id || "";
    if (replying) { replying.hidden = !id; }
    if (replyingText) { replyingText.textContent = text || ""; }
  }

  document.addEventListener("click", function (event) {
    var link = event.target.closest("a.sim-reply");
    if (link) {
      event.preventDefault();
      var bubble = link.closest(".sim-bubble");
      var text = bubble.querySelector(".sim-text");
      setReply(link.getAttribute("data-reply"), text ? text.textContent : bubble.getAttribute("data-kind"));
      // A reply goes to the number the quoted message came from.
      var number = document.getElementById("sim-number");
      if (number) { number.value = bubble.getAttribute("data-number"); }
      document.getElementById("sim-text").focus();
      return;
    }
    if (event.target.closest("#sim-cancel-reply")) {
      setReply("", "");
      document.getElementById("sim-text").focus();
    }
  });

  document.addEventListener("submit", function (event) {
    var form = event.target;
    if (!form.hasAttribute("data-sim")) { return; }
    event.preventDefault();
    var body = new FormData(form, event.submitter);
    if (form.hasAttribute("data-composer-fields") && composer) {
      body.set("phone_number_id", composer.elements.phone_number_id.value);
      body.set("reply_to", replyTo ? replyTo.value : "");
    }
    status.textContent = "";
    fetch(form.action, {
      method: "POST",
      body: body,
      credentials: "same-origin",
      headers: { "X-Requested-With": "fetch", "X-CSRF-Token": token() }
    }).then(function (response) {
      return response.json().then(function (answer) {
        if (!response.ok) { throw new Error(answer.error || ("HTTP " + response.status)); }
        if (form === composer) { form.elements.text.value = ""; }
        if (form === composer || form.hasAttribute("data-composer-fields")) { setReply("", ""); }
        var open = form.closest("details.sim-picker, details.sim-react");
        if (open) { open.open = false; }
      });
    }).catch(function (error) {
      status.textContent = error.message;
    });
  });

  if (chat) { chat.scrollTop = chat.scrollHeight; }
})();
