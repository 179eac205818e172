/**
 * The login page every web UI shares: one self-contained HTML document (no scripts or styles
 * from elsewhere, so it needs no session to load). It posts the principal and secret as JSON
 * to `/login` and goes on to `next`. A login link carries them in the fragment
 * (`/login#principal=admin&secret=…`), which browsers never send to a server or a log.
 */
const escape = (s: string): string => s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

export function loginPage(title: string, next: string): string {
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>Sign in · ${escape(title)}</title>
<style>
body{font:15px system-ui,sans-serif;background:#f4f5f7;color:#1d2330;display:grid;place-items:center;min-height:100vh;margin:0}
form{background:#fff;padding:28px 32px;border-radius:8px;box-shadow:0 1px 4px #0002;width:320px}
h1{font-size:18px;margin:0 0 18px}label{display:block;margin:12px 0 4px;font-size:13px;color:#555}
input{width:100%;box-sizing:border-box;padding:8px;border:1px solid #bbb;border-radius:4px;font:inherit}
button{margin-top:18px;width:100%;padding:9px;border:0;border-radius:4px;background:#2d5be3;color:#fff;font:inherit;cursor:pointer}
#error{color:#b00020;min-height:1.2em;margin-top:10px;font-size:13px}
</style></head>
<body><form id="login" data-next="${escape(next)}">
<h1>Sign in to ${escape(title)}</h1>
<label for="principal">Principal</label><input id="principal" name="principal" autocomplete="username" required>
<label for="secret">Secret</label><input id="secret" name="secret" type="password" autocomplete="current-password" required>
<button type="submit">Sign in</button><div id="error" role="alert"></div>
</form>
<script>
const form = document.getElementById('login');
const next = form.dataset.next || '/';
async function signIn(principal, secret) {
  const res = await fetch('/login', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ principal, secret }) });
  if (res.ok) { location.replace(next); return; }
  const body = await res.json().catch(() => ({}));
  document.getElementById('error').textContent = body.message || ('sign-in failed: ' + res.status);
}
form.addEventListener('submit', (e) => { e.preventDefault(); signIn(form.principal.value, form.secret.value); });
const link = new URLSearchParams(location.hash.slice(1));
if (link.get('principal') && link.get('secret')) {
  history.replaceState(null, '', location.pathname + location.search);
  signIn(link.get('principal'), link.get('secret'));
}
</script></body></html>
`;
}
