/**
 * A statement larger than the server's max_allowed_packet, refused before it is sent: a row too large for the
 * server, alone in its statement (chunking keeps every other statement under the limit). Shaped as the server's own
 * error 1153, ER_NET_PACKET_TOO_LARGE, whose class is content; sent, the statement would make the server close the
 * connection, and the client might see only that (ECONNRESET: an outage, retried for ever).
 */
export class StatementTooLargeError extends Error {
  readonly errno = 1153;
  readonly sqlState = '08S01';
  readonly code = 'ER_NET_PACKET_TOO_LARGE';

  constructor(bytes: number, maxPacket: number) {
    super(`Got a packet bigger than 'max_allowed_packet' bytes: a statement of ${bytes} bytes, where ${maxPacket} fit`);
    this.name = this.constructor.name;
    Object.setPrototypeOf(this, new.target.prototype);
  }
}
