/**
 * Vonage's error bodies, copied from the Account API specification and observed answers, so the sandbox
 * answers the way the real API does. `instance` is Vonage's opaque trace id.
 */
export type VonageProblemName =
  | 'unauthorized'
  | 'invalid-api-key'
  | 'invalid-id'
  | 'validation'
  | 'add-excess-secret'
  | 'delete-last-secret'
  | 'throttled'
  | 'unprovisioned'
  | 'internal-error';

const instance = () => crypto.randomUUID().replaceAll('-', '');
const SECRET_MANAGEMENT = 'https://developer.nexmo.com/api-errors/account/secret-management';

export function vonageProblem(
  name: VonageProblemName,
  subject = '',
): { status: number; body: Record<string, unknown> } {
  switch (name) {
    case 'unauthorized':
      return {
        status: 401,
        body: {
          type: 'https://developer.nexmo.com/api-errors#unauthorized',
          title: 'Invalid credentials supplied',
          detail: 'You did not provide correct credentials.',
          instance: instance(),
        },
      };
    case 'invalid-api-key':
      return {
        status: 404,
        body: {
          type: 'https://developer.nexmo.com/api-errors#invalid-api-key',
          title: 'Invalid API Key',
          detail: `API key '${subject}' does not exist, or you do not have access`,
          instance: instance(),
        },
      };
    case 'invalid-id':
      return {
        status: 404,
        body: {
          type: 'https://developer.nexmo.com/api-errors#invalid-id',
          title: 'Invalid ID',
          detail: `ID '${subject}' could not be found`,
          instance: instance(),
        },
      };
    case 'validation':
      return {
        status: 400,
        body: {
          type: `${SECRET_MANAGEMENT}#validation`,
          title: 'Bad Request',
          detail: 'The request failed due to secret validation errors',
          instance: instance(),
          invalid_parameters: [{ name: 'secret', reason: 'Does not meet complexity requirements' }],
        },
      };
    case 'add-excess-secret':
      return {
        status: 403,
        body: {
          type: `${SECRET_MANAGEMENT}#add-excess-secret`,
          title: 'Secret Addition Forbidden',
          detail: 'Account reached maximum number [2] of allowed secrets',
          instance: instance(),
        },
      };
    case 'delete-last-secret':
      return {
        status: 403,
        body: {
          type: `${SECRET_MANAGEMENT}#delete-last-secret`,
          title: 'Secret Deletion Forbidden',
          detail: 'Can not delete the last secret. The account must always have at least 1 secret active at any time',
          instance: instance(),
        },
      };
    case 'throttled':
      return {
        status: 429,
        body: {
          type: 'https://developer.nexmo.com/api-errors#throttled',
          title: 'Too Many Requests',
          instance: instance(),
        },
      };
    case 'unprovisioned':
      return {
        status: 403,
        body: {
          type: 'https://developer.nexmo.com/api-errors#unprovisioned',
          title: 'Authorisation error',
          detail: `Account ${subject} is not provisioned to access Subaccount Provisioning API`,
          instance: instance(),
        },
      };
    case 'internal-error':
      return {
        status: 500,
        body: {
          type: 'https://developer.nexmo.com/api-errors#internal-error',
          title: 'Internal Error',
          instance: instance(),
        },
      };
  }
}
