// Live sections: an element with data-live="<url>" gets its HTML from that server-sent
// event stream whenever the server's rendering of it changes (EventSource reconnects).
"use strict";
document.querySelectorAll("[data-live]").forEach((section) => {
  const source = new EventSource(section.dataset.live);
  source.addEventListener("update", (message) => {
    section.innerHTML = message.data;
    section.dataset.updates = String(Number(section.dataset.updates || 0) + 1);
  });
  window.addEventListener("pagehide", () => source.close());
});
