/**
 * The gRPC door's two sides. The master serves TLS with the cluster's certificate; a framework
 * trusts the cluster's CA and sends `authorization: Basic principal:secret` with every call
 * (grpc-js sends call credentials only over TLS, so a secret never crosses in plaintext).
 * Each call is checked on its own: a digest and a map lookup, cheap enough for every Accept.
 */
import { credentials as grpcCredentials, Metadata, ServerCredentials, type ChannelCredentials } from '@grpc/grpc-js';
import type { ClientIdentity } from './client-config';
import { authorizationHeader } from './client-config';
import type { Credentials, Principal } from './credentials';
import type { TlsFiles } from './pki';

/** TLS with the cluster's certificate, or plaintext when the master runs without security. */
export function serverCredentials(tls: TlsFiles | undefined): ServerCredentials {
  return tls ? ServerCredentials.createSsl(tls.ca, [{ cert_chain: tls.cert, private_key: tls.key }], false) : ServerCredentials.createInsecure();
}

/** TLS trusting the identity's CA, with its principal and secret on every call; plaintext without one. */
export function channelCredentials(id: ClientIdentity | undefined): ChannelCredentials {
  if (!id) return grpcCredentials.createInsecure();
  const header = authorizationHeader(id);
  const perCall = grpcCredentials.createFromMetadataGenerator((_params, callback) => {
    const md = new Metadata();
    md.set('authorization', header);
    callback(null, md);
  });
  return grpcCredentials.combineChannelCredentials(grpcCredentials.createSsl(id.ca ?? null), perCall);
}

/** Why a call's credentials were refused, for an UNAUTHENTICATED status. */
export class Unauthenticated extends Error {
  override readonly name = 'Unauthenticated';
}

/** The principal a call's metadata proves, or an Unauthenticated error saying what was missing or wrong. */
export function callPrincipal(metadata: Metadata, creds: Credentials): Principal {
  const values = metadata.get('authorization');
  const header = values.length === 1 ? String(values[0]) : undefined;
  if (!header) throw new Unauthenticated('no credentials: send authorization: Basic base64(principal:secret) over TLS (the SDK reads them from the client config)');
  const proved = creds.fromAuthorization(header);
  if ('why' in proved) throw new Unauthenticated(proved.why);
  return proved.principal;
}
