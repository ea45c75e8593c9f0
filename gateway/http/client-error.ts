/**
 * Requests Node's HTTP parser refuses (headers over 16 KiB, malformed request lines) still get a JSON
 * answer from the catalogue rather than a bare status line.
 */
import type { Duplex } from 'node:stream';
import { ERROR_CATALOGUE, errorBody } from '../errors.ts';

export function answerClientError(error: NodeJS.ErrnoException, socket: Duplex): void {
  if (!socket.writable) return void socket.destroy();
  const code = error.code === 'HPE_HEADER_OVERFLOW' ? 'REQUEST_HEADER_FIELDS_TOO_LARGE' : 'BAD_REQUEST';
  const { status, message } = ERROR_CATALOGUE[code];
  const body = JSON.stringify(errorBody(code, code === 'BAD_REQUEST' ? 'Malformed HTTP request' : message));
  const reason = code === 'BAD_REQUEST' ? 'Bad Request' : 'Request Header Fields Too Large';
  socket.end(`HTTP/1.1 ${status} ${reason}\r\ncontent-type: application/json\r\ncontent-length: ${Buffer.byteLength(body)}\r\nconnection: close\r\n\r\n${body}`);
}
