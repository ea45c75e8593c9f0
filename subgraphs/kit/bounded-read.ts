/**
 * The one way frontdesk reads a document from the network: bounded while it streams. A declared
 * `content-length` over the limit is refused before any byte is read; otherwise bytes are counted as they
 * arrive and the transfer is cancelled (the connection closed) the moment the count passes the limit, so
 * a huge or endless chunked answer costs at most `maxBytes` of memory, never its own size.
 * Used for key sets, OIDC discovery documents and subgraph responses (docs/performance.md lists the bounds).
 */

/** A body went past its limit; `what` names the document for the log. */
export class BodyTooLargeError extends Error {
  readonly code = 'ERR_BODY_TOO_LARGE';
  readonly maxBytes: number;
  constructor(what: string, maxBytes: number) {
    super(`${what} exceeds the ${maxBytes}-byte limit`);
    this.name = 'BodyTooLargeError';
    this.maxBytes = maxBytes;
  }
}

/** A fetch body (WHATWG stream) or a Node stream such as undici's `request().body`. */
export type BodySource = ReadableStream<Uint8Array> | AsyncIterable<Uint8Array>;

export interface BoundedReadOptions {
  /** The largest body accepted, in bytes. Required: there is no default size for "small". */
  maxBytes: number;
  /** The response's content-length header, if any; a declared size over maxBytes is refused unread. */
  declaredLength?: string | number | null;
  /** Names the document in the error message (for the log). Default is "response". */
  what?: string;
}

/**
 * Reads `body` as UTF-8 text, at most `maxBytes`. Throws BodyTooLargeError, after cancelling the body,
 * as soon as it is known to be larger. An absent body reads as "".
 */
export async function readBoundedText(body: BodySource | null | undefined, options: BoundedReadOptions): Promise<string> {
  const { maxBytes } = options;
  if (!Number.isInteger(maxBytes) || maxBytes < 0) throw new TypeError('"maxBytes" must be a non-negative integer');
  const what = options.what ?? 'response';
  if (!body) return '';
  const declared = options.declaredLength === undefined || options.declaredLength === null ? Number.NaN : Number(options.declaredLength);
  if (declared > maxBytes) {
    await cancel(body);
    throw new BodyTooLargeError(what, maxBytes);
  }
  const chunks: Uint8Array[] = [];
  let size = 0;
  if (isWebStream(body)) {
    const reader = body.getReader();
    try {
      for (;;) {
        const { done, value } = await reader.read();
        if (done) break;
        size += value.byteLength;
        if (size > maxBytes) {
          await reader.cancel().catch(() => {});
          throw new BodyTooLargeError(what, maxBytes);
        }
        chunks.push(value);
      }
    } finally {
      reader.releaseLock();
    }
  } else {
    // Leaving a for-await loop by a throw calls the iterator's return(), which destroys a Node stream.
    for await (const value of body) {
      size += value.byteLength;
      if (size > maxBytes) throw new BodyTooLargeError(what, maxBytes);
      chunks.push(value);
    }
  }
  return Buffer.concat(chunks, size).toString('utf8');
}

function isWebStream(body: BodySource): body is ReadableStream<Uint8Array> {
  return typeof (body as ReadableStream<Uint8Array>).getReader === 'function';
}

async function cancel(body: BodySource): Promise<void> {
  if (isWebStream(body)) await body.cancel().catch(() => {});
  else (body as { destroy?: () => void }).destroy?.();
}
