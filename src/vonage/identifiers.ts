/**
 * Allow-lists for path parameters, mirrored in openapi-internal.yaml. Nothing like `..`, `/` or `%2F`
 * can pass, and values are URL-encoded again when the upstream URL is built.
 */
export const API_KEY_PATTERN = /^[A-Za-z0-9]{6,32}$/;
export const SECRET_ID_PATTERN = /^[0-9A-Fa-f]{8}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{12}$/;
