/** Exponential backoff with full jitter: a random delay up to min(cap, base * 2^attempt). */
export function retryDelayMs(attempt: number, baseMs = 100, capMs = 5000): number {
  return Math.round(Math.random() * Math.min(capMs, baseMs * 2 ** Math.min(attempt, 20)));
}
