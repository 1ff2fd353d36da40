import { render } from 'preact';
import { html } from 'htm/preact';
import { App } from './views/app.ts';

const root = document.getElementById('app');
if (root) {
  root.textContent = '';
  render(html`<${App} />`, root);
}
