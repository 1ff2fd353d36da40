import { html } from 'htm/preact';
import { useEffect, useState } from 'preact/hooks';
import { api, unwrap } from '../api.ts';
import { AccountsPage } from './accounts.ts';
import { AuditPage } from './audit.ts';
import { SecretAgePage } from './secret-age.ts';
import { Failure, Loading } from './states.ts';
import { useLoad } from './use-load.ts';

/** Routes live in the URL hash (#/accounts?q=…, #/audit?actor=…), so any view can be shared as a link. */
function useRoute(): { page: string; params: URLSearchParams } {
  const read = () => {
    const [page = 'accounts', query = ''] = window.location.hash.replace(/^#\/?/, '').split('?');
    return { page, params: new URLSearchParams(query) };
  };
  const [route, setRoute] = useState(read);
  useEffect(() => {
    const onChange = () => setRoute(read());
    window.addEventListener('hashchange', onChange);
    return () => window.removeEventListener('hashchange', onChange);
  }, []);
  return route;
}

/** /v1/me, and where to switch identity when the server is the dev sandbox (it says so in a header). */
async function whoAmI() {
  const answer = await api.GET('/v1/me');
  const me = await unwrap(Promise.resolve(answer));
  return { ...me, switchIdentity: answer.response.headers.get('X-Dev-Sign-In') };
}

const refusal = (what: string) =>
  `The ${what} needs the audit:read action, which the access policy does not give you. Ask the security team ` +
  'to add you to a group that has it.';

export function App() {
  const [me, reload] = useLoad(whoAmI, 'me');
  const route = useRoute();
  if (me.state === 'loading') return html`<main><${Loading} what="who you are" /></main>`;
  if (me.state === 'failed')
    return html`<main><h1>Vonage Secrets Gateway</h1><${Failure} error=${me.error} retry=${reload} /></main>`;
  const reviewer = me.value.actions.includes('audit:read');
  const forReviewers = ['audit', 'secret-age'].includes(route.page);
  const page = forReviewers && reviewer ? route.page : 'accounts';
  // A shared reviewer link opened by someone without audit:read says so, instead of quietly showing Accounts.
  const refused =
    forReviewers && !reviewer
      ? html`<p class="state notice" role="status">${refusal(route.page === 'audit' ? 'audit log' : 'secret-age report')}</p>`
      : null;
  const link = (to: string, label: string) =>
    html`<a href=${`#/${to}`} aria-current=${page === to ? 'page' : undefined}>${label}</a>`;
  return html`
    <header>
      <h1>Vonage Secrets Gateway</h1>
      <p class="who">Signed in as <strong>${me.value.email}</strong>${me.value.groups.length > 0 && ` (${me.value.groups.join(', ')})`}
        ${me.value.switchIdentity?.startsWith('/dev/') && html` <a href=${me.value.switchIdentity}>Switch identity</a>`}</p>
      <nav aria-label="Sections">
        ${link('accounts', 'Accounts')}
        ${reviewer && link('secret-age', 'Secret age')}
        ${reviewer && link('audit', 'Audit log')}
      </nav>
    </header>
    <main>
      ${refused}
      ${page === 'audit' && html`<${AuditPage} params=${route.params} />`}
      ${page === 'secret-age' && html`<${SecretAgePage} />`}
      ${page === 'accounts' && html`<${AccountsPage} me=${me.value} params=${route.params} />`}
    </main>`;
}
