// How warden authenticates itself at an issuer's token or introspection endpoint (RFC 6749 2.3.1): a confidential client
// sends HTTP Basic with both parts form-encoded first; a public client names itself in the form.

/** The headers of a form POST to an issuer's endpoint; adds `client_id` to `body` for a public client. */
export function clientRequestHeaders(
  body: URLSearchParams,
  clientId: string,
  clientSecret: string | undefined,
): Record<string, string> {
  const headers: Record<string, string> = {
    accept: 'application/json',
    'content-type': 'application/x-www-form-urlencoded',
  };
  if (clientSecret === undefined) body.set('client_id', clientId);
  else {
    const basic = Buffer.from(`${encodeURIComponent(clientId)}:${encodeURIComponent(clientSecret)}`);
    headers.authorization = `Basic ${basic.toString('base64')}`;
  }
  return headers;
}
