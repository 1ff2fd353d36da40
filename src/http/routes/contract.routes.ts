import { strictRouter } from './strict-router.ts';
import type { Router } from 'express';
import type { Contract } from '../openapi.ts';

/**
 * The contract, served as the repository holds it, so client generators and frontends need no copy.
 * It holds no secrets or data, so it needs no identity. Read once at start.
 */
export function contractRouter(contract: Contract): Router {
  const yaml = contract.text;
  const json = JSON.stringify(contract.document);
  const router = strictRouter();
  router.get('/openapi.yaml', (_req, res) => {
    res.type('application/yaml').set('Cache-Control', 'no-cache').send(yaml);
  });
  router.get('/openapi.json', (_req, res) => {
    res.type('application/json').set('Cache-Control', 'no-cache').send(json);
  });
  return router;
}
