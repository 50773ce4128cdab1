// supportbot admin: local times and an optional auto-refresh. It only reads
// attributes the server wrote and sets textContent, never HTML.
"use strict";

document.addEventListener("DOMContentLoaded", function () {
  for (const el of document.querySelectorAll("time[datetime]")) {
    const d = new Date(el.getAttribute("datetime"));
    if (!isNaN(d.getTime())) {
      el.title = el.textContent;
      el.textContent = d.toLocaleString();
    }
  }

  const box = document.getElementById("autorefresh");
  if (box) {
    const key = "supportbot-autorefresh";
    box.checked = window.localStorage.getItem(key) === "1";
    box.addEventListener("change", function () {
      window.localStorage.setItem(key, box.checked ? "1" : "0");
    });
    window.setInterval(function () {
      if (box.checked && !document.hidden) {
        window.location.reload();
      }
    }, 30000);
  }
  document.documentElement.dataset.ready = "1";
});
