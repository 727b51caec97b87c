import { Injectable, type BeforeApplicationShutdown } from '@nestjs/common';

/** Flips to draining when shutdown begins, so readiness fails before the process stops serving. */
@Injectable()
export class ShutdownState implements BeforeApplicationShutdown {
  private draining = false;

  get isDraining(): boolean {
    return this.draining;
  }

  beginDraining(): void {
    this.draining = true;
  }

  beforeApplicationShutdown(): void {
    this.beginDraining();
  }
}
