import type { HealthIndicatorFunction } from '@nestjs/terminus';

/** Token under which each app provides the checks of its readiness probe. */
export const READINESS_CHECKS = Symbol('READINESS_CHECKS');

export type ReadinessChecks = HealthIndicatorFunction[];
