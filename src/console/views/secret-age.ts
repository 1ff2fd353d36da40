import { html } from 'htm/preact';
import { useState } from 'preact/hooks';
import { api, type SecretAgeReport, unwrap } from '../api.ts';
import { Failure, Loading } from './states.ts';
import { useLoad } from './use-load.ts';
import { When } from './when.ts';

const SHOWN_AT_FIRST = 50;

/**
 * For reviewers: every account's oldest secret, overdue ones first, each a link to the account, with the
 * same report as a CSV download. Served from the estate snapshot, so it costs no Vonage call.
 */
export function SecretAgePage() {
  // The JSON form of the report (the contract also offers it as text/csv, which the download link takes).
  const load = async () => (await unwrap(api.GET('/v1/reports/secret-age', {}))) as SecretAgeReport;
  const [report, reload] = useLoad(load, 'secret-age');
  const [shown, setShown] = useState(SHOWN_AT_FIRST);
  if (report.state === 'loading') return html`<${Loading} what="the secret-age report" />`;
  if (report.state === 'failed') return html`<h2>Secret age</h2><${Failure} error=${report.error} retry=${reload} />`;
  const { accounts, max_age_days: maxAge, as_of: asOf } = report.value;
  const overdue = accounts.filter((a) => (a.oldest_age_days ?? 0) > maxAge).length;
  return html`<h2>Secret age</h2>
    <p>${overdue} of ${accounts.length} accounts have a secret older than ${maxAge} days. ${asOf ? html`Estate refreshed <${When} iso=${asOf} />.` : 'The estate has not been refreshed yet.'}</p>
    <p class="downloads"><a href="/v1/reports/secret-age?format=csv" download>Download CSV</a></p>
    <table class="accounts">
      <caption>Accounts by the age of their oldest secret, overdue first (${Math.min(shown, accounts.length)} of ${accounts.length})</caption>
      <thead><tr><th scope="col">Account</th><th scope="col">Oldest secret</th><th scope="col">Secrets</th><th scope="col">Stale rotations</th></tr></thead>
      <tbody>${accounts.slice(0, shown).map((a) => {
        const late = (a.oldest_age_days ?? 0) > maxAge;
        const link = `#/accounts?q=${encodeURIComponent(a.api_key)}&open=${encodeURIComponent(a.api_key)}`;
        return html`<tr key=${a.api_key}>
          <th scope="row"><a href=${link}>${a.name ?? a.api_key}</a> <span class="mono key">${a.api_key}</span></th>
          <td>${a.oldest_age_days === null ? html`<span class="hint">${a.error ?? 'none'}</span>` : `${a.oldest_age_days} days`}
            ${late && html` <span class="overdue">overdue</span>`}</td>
          <td>${a.secrets.length}</td>
          <td>${a.stale_rotations.length === 0 ? 'none' : html`<span class="overdue">${a.stale_rotations.length}</span>`}</td>
        </tr>`;
      })}</tbody>
    </table>
    ${shown < accounts.length && html`<button type="button" onClick=${() => setShown(accounts.length)}>Show all ${accounts.length} accounts</button>`}`;
}
