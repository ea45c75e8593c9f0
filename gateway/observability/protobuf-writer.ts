/**
 * Protobuf's wire format (https://protobuf.dev/programming-guides/encoding/) written into one Buffer, for
 * ./otlp-protobuf.ts. Each method reads the buffer and position into locals once, not per byte.
 */
import type { HrTime } from '@opentelemetry/api';

/**
 * Protobuf wire writing into one Buffer. A length-delimited field is opened with one byte kept for its
 * length and closed once its contents are written; a length of 128 or more moves the contents up to fit.
 */
export class Writer {
  #buf: Buffer;
  #pos = 0;

  constructor(size: number) {
    this.#buf = Buffer.allocUnsafe(size);
  }

  finish(): Uint8Array {
    return this.#buf.subarray(0, this.#pos);
  }

  #room(bytes: number): Buffer {
    if (this.#pos + bytes > this.#buf.length) {
      const grown = Buffer.allocUnsafe(Math.max(this.#buf.length * 2, this.#pos + bytes));
      this.#buf.copy(grown, 0, 0, this.#pos);
      this.#buf = grown;
    }
    return this.#buf;
  }

  tag(field: number, wireType: number): void {
    this.varint((field << 3) | wireType);
  }

  /** A non-negative integer below 2^53, or a negative one as 64-bit two's complement (ten bytes). */
  varint(value: number): void {
    const buf = this.#room(10);
    let pos = this.#pos;
    if (value >= 0 && value <= 0xffffffff) {
      let v = value >>> 0;
      while (v > 0x7f) {
        buf[pos++] = (v & 0x7f) | 0x80;
        v >>>= 7;
      }
      buf[pos++] = v;
    } else {
      let low: number;
      let high: number;
      if (value >= 0) {
        low = value >>> 0;
        high = (value / 0x100000000) >>> 0;
      } else {
        const abs = -value;
        low = ~(abs >>> 0) >>> 0;
        high = ~((abs / 0x100000000) >>> 0) >>> 0;
        low = (low + 1) >>> 0;
        if (low === 0) high = (high + 1) >>> 0;
      }
      while (high > 0 || low > 0x7f) {
        buf[pos++] = (low & 0x7f) | 0x80;
        low = ((low >>> 7) | (high << 25)) >>> 0;
        high >>>= 7;
      }
      buf[pos++] = low;
    }
    this.#pos = pos;
  }

  fixed32(value: number): void {
    this.#room(4).writeUInt32LE(value >>> 0, this.#pos);
    this.#pos += 4;
  }

  double(value: number): void {
    this.#room(8).writeDoubleLE(value, this.#pos);
    this.#pos += 8;
  }

  /** HrTime [seconds, nanoseconds] as fixed64 nanoseconds since the epoch, exact past 2^53. */
  time([seconds, nanos]: HrTime): void {
    const buf = this.#room(8);
    const lowSeconds = seconds & 0xffff;
    const highSeconds = (seconds / 0x10000) >>> 0;
    const lowNanos = lowSeconds * 1e9;
    const highNanos = highSeconds * 1e9;
    const low = (lowNanos >>> 0) + (((highNanos & 0xffff) * 0x10000) >>> 0) + nanos;
    const high = Math.floor(lowNanos / 0x100000000) + ((highNanos / 0x10000) >>> 0) + Math.floor(low / 0x100000000);
    buf.writeUInt32LE(low >>> 0, this.#pos);
    buf.writeUInt32LE(high >>> 0, this.#pos + 4);
    this.#pos += 8;
  }

  bytes(value: Uint8Array): void {
    this.varint(value.length);
    this.#room(value.length).set(value, this.#pos);
    this.#pos += value.length;
  }

  /**
   * An id in hex as its bytes, written in place by Buffer's native hex decoding; a character that is not hex
   * (never in an id the SDK made) is decoded as the SDK's serializer does, digit by digit.
   */
  hex(id: string): void {
    const length = id.length >>> 1;
    this.varint(length);
    const buf = this.#room(length);
    const at = this.#pos;
    if (buf.write(id, at, length, 'hex') !== length) {
      let pos = at;
      for (let i = 0; i < id.length; i += 2) buf[pos++] = (nibble(id.charCodeAt(i)) << 4) | nibble(id.charCodeAt(i + 1));
    }
    this.#pos = at + length;
  }

  /**
   * UTF-8, written by Buffer's native encoder behind room kept for the longest length prefix it could need
   * (3 bytes per UTF-16 unit); a shorter prefix moves the bytes down. Up to 42 units, never.
   */
  string(value: string): void {
    const most = value.length * 3;
    const kept = varintSize(most);
    const buf = this.#room(kept + most);
    const at = this.#pos;
    const written = buf.write(value, at + kept, 'utf8');
    const size = varintSize(written);
    if (size < kept) buf.copy(buf, at + size, at + kept, at + kept + written);
    let v = written;
    let pos = at;
    while (v > 0x7f) {
      buf[pos++] = (v & 0x7f) | 0x80;
      v >>>= 7;
    }
    buf[pos] = v;
    this.#pos = at + size + written;
  }

  /** Starts length-delimited `field`; returns where its length goes, for close(). */
  open(field: number): number {
    this.tag(field, 2);
    this.#room(1);
    return this.#pos++;
  }

  close(at: number): void {
    const length = this.#pos - at - 1;
    if (length < 0x80) {
      this.#buf[at] = length;
      return;
    }
    const size = varintSize(length);
    const buf = this.#room(size - 1);
    buf.copy(buf, at + size, at + 1, this.#pos);
    this.#pos += size - 1;
    let v = length;
    let pos = at;
    while (v > 0x7f) {
      buf[pos++] = (v & 0x7f) | 0x80;
      v >>>= 7;
    }
    buf[pos] = v;
  }
}

function varintSize(value: number): number {
  let size = 1;
  for (let v = value; v > 0x7f; v >>>= 7) size++;
  return size;
}

/** A hex digit's value (0–9, a–f, A–F); what the SDK's serializer does with any other character, too. */
function nibble(code: number): number {
  if (code >= 48 && code <= 57) return code - 48;
  if (code >= 97 && code <= 102) return code - 87;
  return code - 55;
}
