import express, { type Express, type Request, Router } from 'express';
import type { Policy } from '../policy/policy.ts';

/**
 * `npm run dev` only: nothing in front supplies identity headers, so this page lets a developer pick
 * one of the dev policy's identities. The choice lives in a cookie and becomes the SSO proxy's headers
 * for that browser. It is mounted outside the app by src/dev/main.ts; production never loads it.
 */

interface DevIdentity {
  email: string;
  groups: string[];
  label: string;
}

const COOKIE = 'dev_identity';

/** One identity per grant (a member of each group, each named email), plus someone with no grants. */
export function devIdentities(policy: Policy): DevIdentity[] {
  const fromGrants = policy.grants.map((grant) =>
    grant.email !== undefined
      ? { email: grant.email, groups: [], label: `${grant.email} (email grant)` }
      : { email: `${grant.group}@dev.example`, groups: [grant.group ?? ''], label: `a member of ${grant.group}` },
  );
  const unique = [...new Map(fromGrants.map((identity) => [identity.email, identity])).values()];
  return [...unique, { email: 'newcomer@dev.example', groups: [], label: 'someone with no grants' }];
}

const chosen = (req: Request, identities: DevIdentity[]) => {
  const match = /(?:^|;\s*)dev_identity=(\d+)/.exec(req.headers.cookie ?? '');
  return match ? identities[Number(match[1])] : undefined;
};

function page(identities: DevIdentity[]): string {
  const buttons = identities
    .map(
      (identity, index) =>
        `<li><button type="submit" name="identity" value="${index}">${identity.label}</button> <code>${identity.email}</code></li>`,
    )
    .join('\n');
  return `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Dev sign-in</title>
<link rel="stylesheet" href="/console/console.css"></head><body><main>
<h1>Dev sign-in (npm run dev only)</h1>
<p>In production the SSO proxy says who you are. Here, pick an identity from the dev policy.</p>
<form method="post" action="/dev/sign-in"><ul>${buttons}</ul></form>
</main></body></html>`;
}

/** A browser's form post from our own page; a request without Origin or Sec-Fetch-Site is no browser's. */
function sameOrigin(req: express.Request): boolean {
  const site = req.get('sec-fetch-site');
  if (site !== undefined && site !== 'same-origin' && site !== 'none') return false;
  const origin = req.get('origin');
  return origin === undefined || origin === `${req.protocol}://${req.get('host')}`;
}

export function devSignIn(policy: Policy): Router {
  const identities = devIdentities(policy);
  const router = Router();
  router.get('/dev/sign-in', (_req, res) => res.type('html').send(page(identities)));
  router.post('/dev/sign-in', express.urlencoded({ extended: false, limit: '1kb' }), (req, res) => {
    // Login CSRF: another site's page must not sign a developer's browser in as someone else.
    if (!sameOrigin(req)) return res.status(403).type('text').send('Sign in from this page, not from another site.');
    const index = Number(req.body?.identity);
    if (!identities[index]) return res.redirect(303, '/dev/sign-in');
    res.cookie(COOKIE, String(index), { httpOnly: true, sameSite: 'strict', path: '/' }).redirect(303, '/console/');
  });
  router.use((req, res, next) => {
    // The console shows a "Switch identity" link when /v1/me says where (only this dev server does).
    if (req.path === '/v1/me') res.set('X-Dev-Sign-In', '/dev/sign-in');
    const identity = chosen(req, identities);
    if (!identity && req.path === '/console/') return res.redirect(302, '/dev/sign-in');
    if (identity && req.headers['x-forwarded-email'] === undefined) {
      req.headers['x-forwarded-email'] = identity.email;
      req.rawHeaders.push('X-Forwarded-Email', identity.email);
      if (identity.groups.length > 0) {
        req.headers['x-forwarded-groups'] = identity.groups.join(',');
        req.rawHeaders.push('X-Forwarded-Groups', identity.groups.join(','));
      }
    }
    next();
  });
  return router;
}

/** The dev server: sign-in in front of the real app. */
export function withDevSignIn(policy: Policy, app: Express): Express {
  const outer = express();
  outer.disable('x-powered-by');
  outer.use(devSignIn(policy));
  outer.use(app);
  return outer;
}
