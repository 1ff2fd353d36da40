import type { IncomingHttpHeaders } from 'node:http';

/** Who is calling, as established by the SSO layer. Everything downstream trusts only this. */
export interface Identity {
  email: string;
  user: string | null;
  groups: string[];
}

/** What an identity provider may look at: the connection's peer and the headers as they arrived. */
export interface IdentityRequest {
  peerAddress: string | undefined;
  headers: IncomingHttpHeaders;
  rawHeaders: string[];
}

/**
 * A pluggable way of establishing identity: plain proxy headers from a trusted peer, or a signed assertion.
 * It resolves to an Identity or throws AppError 401 with a reason code.
 */
export type IdentityProvider = (request: IdentityRequest) => Promise<Identity>;
