/**
 * Vonage's rules for an API secret, as the server checks them (openapi-internal.yaml): 8-25
 * characters with at least one lower-case letter, one upper-case letter and one digit.
 */
export const SECRET_RULE = /^(?=.*[a-z])(?=.*[A-Z])(?=.*[0-9]).{8,25}$/;
/** The rule in words, as the API's 400 and the console both say it (and as the contract describes it). */
export const SECRET_RULE_TEXT =
  '8-25 characters with at least one lower-case letter, one upper-case letter and one digit';

const ALPHABET = 'abcdefghijkmnopqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789';
const LENGTH = 24;

/** A strong secret from the browser's CSPRNG: 24 characters (about 140 bits), unbiased, meeting the rules. */
export function generateSecret(random: (bytes: Uint8Array) => Uint8Array = (b) => crypto.getRandomValues(b)): string {
  for (;;) {
    let secret = '';
    while (secret.length < LENGTH) {
      for (const byte of random(new Uint8Array(32))) {
        // Rejection sampling: only bytes below the largest multiple of the alphabet size, so no letter is favoured.
        if (byte < 256 - (256 % ALPHABET.length) && secret.length < LENGTH) secret += ALPHABET[byte % ALPHABET.length];
      }
    }
    if (SECRET_RULE.test(secret)) return secret;
  }
}
