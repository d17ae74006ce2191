"use strict";
(function () {
  const form = document.getElementById("login-form");
  const error = document.getElementById("login-error");
  let csrf = null;

  async function token() {
    const r = await fetch("/api/csrf", { credentials: "same-origin" });
    csrf = (await r.json()).csrf;
  }

  form.addEventListener("submit", async (ev) => {
    ev.preventDefault();
    error.hidden = true;
    if (!csrf) await token();
    const r = await fetch("/api/login", {
      method: "POST",
      credentials: "same-origin",
      headers: { "Content-Type": "application/json", "X-CSRF-Token": csrf },
      body: JSON.stringify({
        username: document.getElementById("username").value,
        password: document.getElementById("password").value,
      }),
    });
    const data = await r.json().catch(() => ({}));
    if (!r.ok) {
      error.textContent = data.error || "Sign-in failed";
      error.hidden = false;
      csrf = null;
      return;
    }
    location.href = data.role === "admin" ? "/admin" : "/review";
  });
  token();
})();
