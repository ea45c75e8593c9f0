/**
 * Where the gateway may send a browser after signing in: only an absolute http(s) URL on one of the app
 * origins — no open redirect in any spelling (`//evil`, `/\evil`, `https://good@evil`, `javascript:`,
 * percent-encoded or tab-split variants). The URL is parsed once, by the WHATWG parser browsers use, and the
 * redirect goes to its serialisation, so what was checked is exactly what the browser follows.
 */

const MAX_RETURN_TO = 2_048;
/** Controls, whitespace and backslashes have no place in a URL we hand out; browsers "repair" them differently. */
const SUSPICIOUS = /[\s\p{Cc}\\]/u;

/** The URL to redirect to, or undefined when `returnTo` is not allowed. Absent: the first app origin. */
export function allowedReturnTo(returnTo: string | null, appOrigins: readonly string[]): string | undefined {
  if (returnTo === null) return appOrigins[0] === undefined ? undefined : `${appOrigins[0]}/`;
  if (returnTo.length === 0 || returnTo.length > MAX_RETURN_TO || SUSPICIOUS.test(returnTo)) return undefined;
  // Relative references are refused rather than resolved: relative to the gateway they would leave the app.
  if (!/^https?:\/\//i.test(returnTo)) return undefined;
  let url: URL;
  try {
    url = new URL(returnTo);
  } catch {
    return undefined;
  }
  if (url.username !== '' || url.password !== '') return undefined;
  if (url.protocol !== 'http:' && url.protocol !== 'https:') return undefined;
  if (!appOrigins.includes(url.origin)) return undefined;
  return url.href;
}
