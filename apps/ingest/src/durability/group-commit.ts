/**
 * Confirms writes in groups: the first caller sends the confirming command at once; callers that come while it is in
 * flight wait for the next one, sent as soon as it returns, for all of them together. A caller asks only once its
 * writes' replies came, on the connection the command goes on: the next command sent is after them, so it covers them
 * (a client's WAIT offset is that of its last command). A failed command confirms nothing.
 */
export class GroupCommit {
  private inFlight = false;
  private queued: ((reached: boolean) => void)[] = [];

  /** `confirm` sends the command and says whether the level was reached. */
  constructor(private readonly confirm: () => Promise<boolean>) {}

  /** Whether the next command sent reached the level for the writes the caller has had answered. */
  next(): Promise<boolean> {
    return new Promise((resolve) => {
      this.queued.push(resolve);
      this.sendIfIdle();
    });
  }

  private sendIfIdle(): void {
    if (this.inFlight || this.queued.length === 0) {
      return;
    }
    const group = this.queued;
    this.queued = [];
    this.inFlight = true;
    const settle = (reached: boolean) => {
      this.inFlight = false;
      group.forEach((resolve) => resolve(reached));
      this.sendIfIdle();
    };
    this.confirm().then(settle, () => settle(false));
  }
}
