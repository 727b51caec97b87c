import type { Socket } from 'node:net';
import type { FastifyError, FastifyReply, FastifyRequest } from 'fastify';
import { problemBody } from './problem-details.filter';

/**
 * Longest time a client may take to send one whole request, headers and body. Fastify's default (0) turns off
 * Node's own limit, so a client sending its body a byte at a time held a connection and its buffers forever
 * (slow loris). 30 s lets a 1 MiB body through at 35 KB/s; past it the request is answered 408 and closed.
 */
export const REQUEST_TIMEOUT_MS = 30_000;

/** How often Node looks for requests over the timeout (its default, 30 s, would double the wait). */
export const TIMEOUT_CHECK_INTERVAL_MS = 1000;

function rawProblem(status: number, reason: string, detail: string): string {
  const body = JSON.stringify(problemBody(status, detail));

  return (
    `HTTP/1.1 ${status} ${reason}\r\nContent-Type: application/problem+json\r\n` +
    `Content-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`
  );
}

/**
 * Fastify's `clientErrorHandler`: answers what Node's HTTP parser refuses before any route runs (a request that
 * took too long, malformed HTTP, a request line and headers over Node's 16 KiB) as problem+json, then closes the
 * connection, as Node does. Oversized headers get 400 rather than 431, which the API does not document.
 */
export function answerClientError(error: NodeJS.ErrnoException, socket: Socket): void {
  // A reset peer needs no answer, and an answer already under way must not be corrupted.
  const inFlight = (socket as Socket & { _httpMessage?: { headersSent?: boolean } })._httpMessage;
  if (error.code === 'ECONNRESET' || socket.destroyed || inFlight?.headersSent) {
    socket.destroy();

    return;
  }
  let answer: string;
  if (error.code === 'ERR_HTTP_REQUEST_TIMEOUT') {
    answer = rawProblem(408, 'Request Timeout', `the request was not received within ${REQUEST_TIMEOUT_MS / 1000} s`);
  } else if (error.code === 'HPE_HEADER_OVERFLOW') {
    answer = rawProblem(400, 'Bad Request', 'the request line and headers are larger than 16 KiB');
  } else {
    answer = rawProblem(400, 'Bad Request', 'malformed HTTP request');
  }
  if (socket.writable) {
    socket.end(answer);
  }
  socket.destroy();
}

/** Fastify's `frameworkErrors`: a URL that is not valid percent-encoding, as problem+json like every other answer. */
export function answerFrameworkError(error: FastifyError, _request: FastifyRequest, reply: FastifyReply): void {
  const detail =
    error.code === 'FST_ERR_BAD_URL' ? 'the URL is not valid percent-encoded UTF-8' : 'the URL cannot be routed';
  void reply.code(400).type('application/problem+json').send(problemBody(400, detail));
}
