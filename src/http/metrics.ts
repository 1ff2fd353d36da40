import type { Server } from 'node:http';
import { createServer } from '../node-http.ts';
import client from 'prom-client';
import { listen } from '../listen.ts';

/**
 * Prometheus series, labelled only by route templates, statuses, budgets, reason codes, managed api keys and
 * registered consumer names: never by anything a caller sends, so no secret or unbounded value becomes a label.
 */
export interface Metrics {
  registry: client.Registry;
  requests: client.Counter<'method' | 'route' | 'status'>;
  requestDuration: client.Histogram<'method' | 'route' | 'status'>;
  upstreamDuration: client.Histogram<'status'>;
  auditWriteFailures: client.Counter<'stage'>;
  rateLimitRejections: client.Counter<'budget'>;
  rateLimitLeaseWaits: client.Counter<'budget'>;
  identityFailures: client.Counter<'reason'>;
  circuitState: client.Gauge;
  /** By managed api key (a bounded set from the policy): the oldest secret's age, and open rotations. */
  secretOldestAge: client.Gauge<'api_key'>;
  rotationsAwaitingCutover: client.Gauge<'api_key'>;
  secretMaxAge: client.Gauge;
  estateSource: client.Gauge<'source'>;
  estateAccounts: client.Gauge;
  estateLastRefresh: client.Gauge<'result'>;
  auditStreamLag: client.Gauge;
  auditStreamLastSuccess: client.Gauge;
  auditChainIntact: client.Gauge<'check'>;
  auditChainLastVerified: client.Gauge<'check'>;
  /** Generator calls by consumer ('' when the token named none) and outcome. */
  deliveries: client.Counter<'consumer' | 'outcome'>;
  /** Per consumer with delivery on: its last delivery (its registration before the first), and its interval. */
  consumerLastDelivery: client.Gauge<'consumer' | 'api_key'>;
  consumerInterval: client.Gauge<'consumer' | 'api_key'>;
}

const SECONDS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

export function createMetrics(): Metrics {
  const registry = new client.Registry();
  client.collectDefaultMetrics({ register: registry, prefix: 'gateway_' });
  const registers = [registry];
  return {
    registry,
    requests: new client.Counter({
      name: 'gateway_http_requests_total',
      help: 'Requests answered, by route template and status',
      labelNames: ['method', 'route', 'status'],
      registers,
    }),
    requestDuration: new client.Histogram({
      name: 'gateway_http_request_duration_seconds',
      help: 'Time to answer a request',
      labelNames: ['method', 'route', 'status'],
      buckets: SECONDS,
      registers,
    }),
    upstreamDuration: new client.Histogram({
      name: 'gateway_upstream_duration_seconds',
      help: 'Vonage call time, by Vonage status (none: no answer)',
      labelNames: ['status'],
      buckets: SECONDS,
      registers,
    }),
    auditWriteFailures: new client.Counter({
      name: 'gateway_audit_write_failures_total',
      help: 'Audit writes that failed (intent: request refused with 503; outcome: attempt left incomplete)',
      labelNames: ['stage'],
      registers,
    }),
    rateLimitRejections: new client.Counter({
      name: 'gateway_rate_limit_rejections_total',
      help: 'Requests refused by our own rate limits',
      labelNames: ['budget'],
      registers,
    }),
    rateLimitLeaseWaits: new client.Counter({
      name: 'gateway_rate_limit_lease_waits_total',
      help: 'Requests that waited for a lease of their budget from Postgres (zero at a steady rate)',
      labelNames: ['budget'],
      registers,
    }),
    identityFailures: new client.Counter({
      name: 'gateway_identity_failures_total',
      help: 'Requests refused with 401, by reason',
      labelNames: ['reason'],
      registers,
    }),
    circuitState: new client.Gauge({
      name: 'gateway_upstream_circuit_state',
      help: 'Vonage circuit breaker: 0 closed, 1 half-open, 2 open',
      registers,
    }),
    secretOldestAge: new client.Gauge({
      name: 'vonage_secret_oldest_age_seconds',
      help: "Age of the account's oldest Vonage API secret",
      labelNames: ['api_key'],
      registers,
    }),
    secretMaxAge: new client.Gauge({
      name: 'gateway_secret_max_age_seconds',
      help: 'SECRET_MAX_AGE_DAYS in seconds: the overdue threshold, for the alert to compare against',
      registers,
    }),
    estateSource: new client.Gauge({
      name: 'gateway_account_discovery_source',
      help: 'Where the managed accounts come from: 1 on the source in use (vonage: discovered; static: the policy)',
      labelNames: ['source'],
      registers,
    }),
    estateAccounts: new client.Gauge({
      name: 'gateway_estate_accounts',
      help: 'Accounts the last estate refresh found (before the allow-list and exclude)',
      registers,
    }),
    estateLastRefresh: new client.Gauge({
      name: 'gateway_estate_last_refresh_timestamp_seconds',
      help: 'When an estate refresh last succeeded, or failed to reach Vonage',
      labelNames: ['result'],
      registers,
    }),
    rotationsAwaitingCutover: new client.Gauge({
      name: 'vonage_rotations_awaiting_cutover',
      help: 'Rotations started but not yet completed or cancelled (two live secrets)',
      labelNames: ['api_key'],
      registers,
    }),
    auditStreamLag: new client.Gauge({
      name: 'audit_stream_lag_records',
      help: 'Audit records not yet acknowledged by the SIEM',
      registers,
    }),
    auditStreamLastSuccess: new client.Gauge({
      name: 'audit_stream_last_success_timestamp_seconds',
      help: 'When the SIEM last acknowledged a batch',
      registers,
    }),
    // Labelled by check (full, incremental), so neither series exists before its first verify:
    // "not yet verified" is an absent series, never a 0 that reads as broken.
    auditChainIntact: new client.Gauge({
      name: 'audit_chain_intact',
      help: '1 if the last verify of this check found the chain intact, 0 if broken',
      labelNames: ['check'],
      registers,
    }),
    auditChainLastVerified: new client.Gauge({
      name: 'audit_chain_last_verified_timestamp_seconds',
      help: 'When the chain was last verified by this check',
      labelNames: ['check'],
      registers,
    }),
    deliveries: new client.Counter({
      name: 'gateway_deliveries_total',
      help: 'Delivery generator calls: delivered, refused (4xx), failed (5xx) or unauthenticated (no live token)',
      labelNames: ['consumer', 'outcome'],
      registers,
    }),
    consumerLastDelivery: new client.Gauge({
      name: 'gateway_consumer_last_delivery_timestamp_seconds',
      help: 'When the consumer was last delivered a secret (before the first: when it was registered)',
      labelNames: ['consumer', 'api_key'],
      registers,
    }),
    consumerInterval: new client.Gauge({
      name: 'gateway_consumer_interval_seconds',
      help: "The consumer's declared refresh interval (its ExternalSecret's refreshInterval)",
      labelNames: ['consumer', 'api_key'],
      registers,
    }),
  };
}

/** A consumer's two gauges: its last delivery (its registration before the first) and its declared interval. */
export function setConsumerGauges(
  metrics: Metrics,
  consumer: { name: string; apiKey: string; intervalSeconds: number },
  lastDeliveryAt: Date,
): void {
  const labels = { consumer: consumer.name, api_key: consumer.apiKey };
  metrics.consumerLastDelivery.set(labels, lastDeliveryAt.getTime() / 1000);
  metrics.consumerInterval.set(labels, consumer.intervalSeconds);
}

/** Served on its own port, which the Kubernetes Service does not expose to callers. */
export function startMetricsServer(metrics: Metrics, port: number): Promise<Server> {
  const server = createServer(async (req, res) => {
    if (req.method !== 'GET' || req.url !== '/metrics') return void res.writeHead(404).end();
    res.writeHead(200, { 'content-type': metrics.registry.contentType }).end(await metrics.registry.metrics());
  });
  return listen(server, port);
}
