import externalSecret from '../../../k8s/components/eso-delivery/consumer/externalsecret.yaml';
import generator from '../../../k8s/components/eso-delivery/consumer/generator.yaml';
import targetSecret from '../../../k8s/components/eso-delivery/consumer/target-secret.yaml';
import tokenSecret from '../../../k8s/components/eso-delivery/consumer/token-secret.yaml';

/** The name and URL the shipped consumer manifests are written for. */
const SHIPPED_NAME = 'payments-api';
const SHIPPED_URL = /http:\/\/vonage-secrets-gateway\.[a-z0-9.-]+\/v1\/deliveries/;

/**
 * The shipped consumer manifests (k8s/components/eso-delivery/consumer/), filled in for one consumer: its
 * name, and where ESO reaches the gateway when DELIVERY_URL says. Never the token: the token Secret keeps
 * its placeholder, to be replaced where the workload's secrets are managed.
 */
export function consumerManifest(name: string, url: string | null): string {
  return [tokenSecret, targetSecret, generator, externalSecret]
    .map((text) => text.replaceAll(SHIPPED_NAME, name))
    .map((text) => (url ? text.replace(SHIPPED_URL, url) : text))
    .join('---\n');
}
