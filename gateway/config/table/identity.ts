/** Config table: the identity token the gateway signs for subgraphs (docs/identity-token.md). */
import { IDENTITY_ALGORITHMS, IDENTITY_HEADER, MAX_IDENTITY_TTL_SECONDS } from '@frontdesk/kit/contract';
import { boolean, duration, list, oneOf, path, section, string } from './fields.ts';

const signingKey = section('One identity signing key.', {
  file: path({ required: 'the path of a private JWK or PKCS#8 PEM file', doc: 'private JWK or PKCS#8 PEM (EdDSA or ES256); a public JWK is published only' }),
  kid: string({ defaultText: "the JWK's `kid`", doc: 'key id; required for PEM' }),
  alg: oneOf(IDENTITY_ALGORITHMS, { defaultText: "the JWK's `alg`", doc: 'signing algorithm; required for PEM' }),
});

export const identity = section('The identity token sent to subgraphs.', {
  issuer: string({ required: 'the iss subgraphs expect, e.g. https://gateway.example', doc: '`iss` of identity tokens; subgraphs are configured with it' }),
  header: string({
    default: IDENTITY_HEADER,
    lowerCase: true,
    pattern: '^[a-z0-9-]+$',
    patternProblem: 'must be a header name: letters, digits and hyphens',
    doc: 'header carrying the identity token',
  }),
  ttl: duration({
    default: '60s',
    min: '1s',
    max: `${MAX_IDENTITY_TTL_SECONDS / 60}m`,
    hint: 'identity tokens are per request and should live seconds',
    doc: "identity token lifetime (never past the credential's expiry)",
  }),
  keys: list(signingKey, {
    required: 'list at least one signing key file (see docs/identity-token.md)',
    doc: 'the first private key signs, all are published at `/.well-known/jwks.json`',
  }),
  devKeys: boolean({ default: false, doc: 'generate missing key files (EdDSA, mode 0600) with a loud warning; refused when `NODE_ENV=production`' }),
});
